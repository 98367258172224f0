// FileSmsSender: the JSON line it writes, the file's mode, escaping, and that lines from concurrent
// senders never interleave.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "sinetti/clock.hpp"
#include "sms/file_sender.hpp"
#include "sms/make_sender.hpp"

using namespace sinetti;
using namespace sinetti::sms;
using namespace std::chrono;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sinetti-sms-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST((all.empty() || all.back() == '\n'), "the file ends with a complete line");
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(all.substr(start, nl - start));
  }
  return lines;
}

const auto december_first = sys_days{year{2026} / 12 / 1} + hours{19} + milliseconds{7};

std::unique_ptr<FileSmsSender> open_sender(const fs::path& p, const Clock& clock) {
  auto s = FileSmsSender::open(p, clock);
  BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message));
  return std::move(*s);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(file_sender)

BOOST_AUTO_TEST_CASE(writes_one_json_object_per_line) {
  TempDir dir;
  ManualClock clock(time_point_cast<system_clock::duration>(december_first));
  const fs::path p = dir.path / "sms.jsonl";
  auto sender = open_sender(p, clock);
  BOOST_TEST(sender->name() == "file");
  const auto first = sender->send({"+358401234567", "Turvaposti-tunnuslukusi on 123456.", "ch-1"});
  BOOST_TEST_REQUIRE(first.accepted());
  BOOST_TEST(!first.acceptance().provider_id.has_value());
  clock.advance(seconds{61});
  BOOST_TEST(sender->send({"+46701234567", "Din kod är 654321.", "ch-2"}).accepted());

  const auto lines = lines_of(p);
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0] ==
             R"({"to":"+358401234567","text":"Turvaposti-tunnuslukusi on 123456.","ts":"2026-12-01T19:00:00.007Z","ref":"ch-1"})");
  const Json second = Json::parse(lines[1]);
  BOOST_TEST(second.size() == 4u);
  BOOST_TEST(second.at("to") == "+46701234567");
  BOOST_TEST(second.at("text") == "Din kod är 654321.");
  BOOST_TEST(second.at("ts") == "2026-12-01T19:01:01.007Z");
  BOOST_TEST(second.at("ref") == "ch-2");
}

BOOST_AUTO_TEST_CASE(file_is_created_0600_whatever_the_umask) {
  TempDir dir;
  ManualClock clock;
  const mode_t old = ::umask(0);
  const fs::path p = dir.path / "sms.jsonl";
  auto sender = FileSmsSender::open(p, clock);
  ::umask(old);
  BOOST_TEST_REQUIRE(sender.ok());
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(p.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0600u);
}

BOOST_AUTO_TEST_CASE(text_is_escaped_so_a_message_stays_on_one_line) {
  TempDir dir;
  ManualClock clock;
  const fs::path p = dir.path / "sms.jsonl";
  auto sender = open_sender(p, clock);
  const std::string text = "quote \" backslash \\ newline \n cr \r tab \t bell \x07 nul-free ä å ö € 😀 </script>";
  BOOST_TEST_REQUIRE(sender->send({"+358401234567", text, "ref \"x\"\n"}).accepted());
  const auto lines = lines_of(p);
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0].find('\r') == std::string::npos);
  BOOST_TEST(lines[0].find('\x07') == std::string::npos);
  const Json j = Json::parse(lines[0]);
  BOOST_TEST(j.at("text") == text);
  BOOST_TEST(j.at("ref") == "ref \"x\"\n");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_replaced_not_thrown) {
  TempDir dir;
  ManualClock clock;
  const fs::path p = dir.path / "sms.jsonl";
  auto sender = open_sender(p, clock);
  BOOST_TEST_REQUIRE(sender->send({"+358401234567", "bad \xC3 byte 123456", "r"}).accepted());
  const auto j = Json::parse(lines_of(p).at(0));
  BOOST_TEST(j.at("text") == "bad \xEF\xBF\xBD byte 123456");
}

BOOST_AUTO_TEST_CASE(concurrent_senders_never_interleave) {
  TempDir dir;
  SystemClock clock;
  const fs::path p = dir.path / "sms.jsonl";
  constexpr int threads = 8;
  constexpr int per_thread = 40;
  // Two senders on the same file, as two gateway processes would have; long texts make a torn
  // write visible.
  auto a = open_sender(p, clock);
  auto b = open_sender(p, clock);
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      SmsSender& sender = (t % 2 == 0) ? static_cast<SmsSender&>(*a) : static_cast<SmsSender&>(*b);
      const std::string text(1500, static_cast<char>('a' + t));
      for (int i = 0; i < per_thread; ++i) {
        const auto r = sender.send({"+35840123456" + std::to_string(t), text, std::to_string(t) + ":" + std::to_string(i)});
        if (!r.accepted()) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(failures.load() == 0);

  const auto lines = lines_of(p);
  BOOST_TEST_REQUIRE(lines.size() == static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& line : lines) {
    const Json j = Json::parse(line, nullptr, false);
    BOOST_TEST_REQUIRE(!j.is_discarded(), "a torn line: " << line.substr(0, 80));
    const std::string ref = j.at("ref");
    const int t = std::stoi(ref.substr(0, ref.find(':')));
    const int i = std::stoi(ref.substr(ref.find(':') + 1));
    BOOST_TEST(i == next[t]);  // each thread's messages in its own order
    next[t] = i + 1;
    BOOST_TEST(j.at("text") == std::string(1500, static_cast<char>('a' + t)));
    BOOST_TEST(j.at("to") == "+35840123456" + std::to_string(t));
  }
}

BOOST_AUTO_TEST_CASE(a_removed_file_is_created_again) {
  TempDir dir;
  ManualClock clock;
  const fs::path p = dir.path / "sms.jsonl";
  auto sender = open_sender(p, clock);
  BOOST_TEST(sender->send({"+358401234567", "one 111111", "1"}).accepted());
  fs::remove(p);
  BOOST_TEST(sender->send({"+358401234567", "two 222222", "2"}).accepted());
  const auto lines = lines_of(p);
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(Json::parse(lines[0]).at("ref") == "2");
}

BOOST_AUTO_TEST_CASE(refuses_what_it_cannot_open_and_bad_messages) {
  TempDir dir;
  ManualClock clock;
  auto missing_dir = FileSmsSender::open(dir.path / "no" / "sms.jsonl", clock);
  BOOST_TEST_REQUIRE(!missing_dir.ok());
  BOOST_TEST(missing_dir.error().message.find("No such file or directory") != std::string::npos);
  BOOST_TEST(!FileSmsSender::open(dir.path, clock).ok());  // a directory

  const fs::path p = dir.path / "sms.jsonl";
  auto sender = open_sender(p, clock);
  const auto r = sender->send({"0401234567", "national number 123456", "r"});
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(!r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("0401234567") == std::string::npos);
  BOOST_TEST(lines_of(p).empty());
}

BOOST_AUTO_TEST_CASE(a_symbolic_link_in_place_of_the_file_is_refused) {
  TempDir dir;
  ManualClock clock;
  const fs::path target = dir.path / "elsewhere";
  std::ofstream(target) << "";
  const fs::path p = dir.path / "sms.jsonl";
  fs::create_symlink(target, p);
  BOOST_TEST(!FileSmsSender::open(p, clock).ok());
  fs::remove(p);
  auto sender = open_sender(p, clock);
  fs::create_symlink(target, dir.path / "tmp-link");
  fs::remove(p);
  fs::rename(dir.path / "tmp-link", p);
  BOOST_TEST(!sender->send({"+358401234567", "code 123456", "r"}).accepted());
  BOOST_TEST(fs::file_size(target) == 0u);
}

BOOST_AUTO_TEST_CASE(factory_builds_the_configured_driver) {
  TempDir dir;
  ManualClock clock;
  config::Sms sms;
  sms.driver = config::SmsDriver::file;
  sms.file_path = dir.path / "sms.jsonl";
  auto sender = make_sms_sender(sms, clock);
  BOOST_TEST_REQUIRE(sender.ok(), (sender.ok() ? "" : sender.error().message));
  BOOST_TEST((*sender)->name() == "file");
  BOOST_TEST((*sender)->send({"+358401234567", "code 123456", "r"}).accepted());
  BOOST_TEST(lines_of(sms.file_path).size() == 1u);

  sms.driver = config::SmsDriver::http;
  BOOST_TEST(!make_sms_sender(sms, clock).ok());  // no http section
  sms.http.emplace();
  sms.http->url = "https://sms.example/send";
  sms.http->body_template = R"({"to":"{{to_e164}}","text":"{{text}}","x":"{{nope}}"})";
  sms.http->success = {200};
  auto bad = make_sms_sender(sms, clock);
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.find("{{nope}}") != std::string::npos);
  sms.http->body_template = R"({"to":"{{to_e164}}","text":"{{text}}"})";
  auto good = make_sms_sender(sms, clock);
  BOOST_TEST_REQUIRE(good.ok(), (good.ok() ? "" : good.error().message));
  BOOST_TEST((*good)->name() == "sms.example");
}

BOOST_AUTO_TEST_CASE(utc_timestamps) {
  BOOST_TEST(utc_timestamp(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(utc_timestamp(time_point_cast<system_clock::duration>(sys_days{year{2024} / 2 / 29} + hours{23} + minutes{59} +
                                                                    seconds{59} + milliseconds{999})) ==
             "2024-02-29T23:59:59.999Z");
  BOOST_TEST(utc_timestamp(system_clock::time_point{} - milliseconds{1}) == "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_SUITE_END()
