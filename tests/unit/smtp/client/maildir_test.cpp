// The Maildir transport on a real file system: the file lands in new/ whole and durable, nothing is
// left in tmp/ on failure, blocking work goes through the runner, and the body is written in batches.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "smtp/client/maildir.hpp"

using namespace sinetti::smtp::client;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sinetti-maildir-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

class FailingBody final : public BodySource {
 public:
  asio::awaitable<sinetti::Result<std::optional<std::string_view>>> next() override {
    if (calls_++ == 0) co_return std::optional<std::string_view>{"Subject: x\r\n\r\npart"};
    co_return sinetti::make_error("authentication tag mismatch");
  }

 private:
  int calls_ = 0;
};

DeliveryResult run(Transport& t, const Envelope& e, BodySource& body) {
  asio::io_context io;
  DeliveryResult result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { result = co_await t.deliver(e, body); }, [](std::exception_ptr failure) {
    if (failure) std::rethrow_exception(failure);
  });
  io.run();
  return result;
}

Envelope envelope() {
  Envelope e;
  e.sender = "sender@example.fi";
  e.recipients = {"team@example.fi"};
  return e;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::exists(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_client_maildir)

BOOST_AUTO_TEST_CASE(delivers_into_new_through_the_runner) {
  TempDir tmp;
  const fs::path md = tmp.path / "mail";
  sinetti::ManualClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
  int blocking_calls = 0;
  MaildirTransport t(md, clock, [&](std::function<void()> work) -> asio::awaitable<void> {
    ++blocking_calls;
    work();
    co_return;
  });
  const std::string message(1 << 20, 'm');
  StringBodySource body("Subject: big\r\n\r\n" + message, 4096);
  const auto r = run(t, envelope(), body);
  BOOST_REQUIRE_EQUAL(r.recipients.size(), 1u);
  BOOST_TEST((r.recipients[0].outcome == Outcome::delivered));
  BOOST_TEST(r.recipients[0].status == "2.0.0");
  const auto fresh = files_in(md / "new");
  BOOST_REQUIRE_EQUAL(fresh.size(), 1u);
  BOOST_TEST(files_in(md / "tmp").empty());
  BOOST_TEST(fs::is_directory(md / "cur"));
  for (const auto& d : {md, md / "tmp", md / "new", md / "cur"}) BOOST_TEST(mode_of(d) == 0700u);
  BOOST_TEST(mode_of(fresh[0]) == 0600u);
  // time.pid_random.host
  const std::string name = fresh[0].filename().string();
  BOOST_TEST(name.starts_with("1700000000." + std::to_string(::getpid()) + "_"));
  BOOST_TEST(r.recipients[0].diagnostic == "saved as new/" + name);
  BOOST_TEST(slurp(fresh[0]) ==
             "Return-Path: <sender@example.fi>\r\nDelivered-To: team@example.fi\r\nSubject: big\r\n\r\n" + message);
  // 1 MiB in 256 KiB batches: set-up, at least four writes, then fsync and rename.
  BOOST_TEST(blocking_calls >= 6);
}

BOOST_AUTO_TEST_CASE(names_are_unique) {
  TempDir tmp;
  sinetti::ManualClock clock;
  MaildirTransport t(tmp.path, clock);
  for (int i = 0; i < 20; ++i) {
    StringBodySource body("Subject: " + std::to_string(i) + "\r\n\r\n");
    BOOST_TEST((run(t, envelope(), body).recipients.at(0).outcome == Outcome::delivered));
  }
  BOOST_TEST(files_in(tmp.path / "new").size() == 20u);
}

BOOST_AUTO_TEST_CASE(a_failing_body_leaves_nothing_behind) {
  TempDir tmp;
  sinetti::ManualClock clock;
  MaildirTransport t(tmp.path, clock);
  FailingBody body;
  const auto r = run(t, envelope(), body);
  BOOST_TEST((r.recipients.at(0).outcome == Outcome::deferred));
  BOOST_TEST(r.recipients.at(0).status == "4.3.0");
  BOOST_TEST(r.recipients.at(0).diagnostic.find("authentication tag mismatch") != std::string::npos);
  BOOST_TEST(files_in(tmp.path / "tmp").empty());
  BOOST_TEST(files_in(tmp.path / "new").empty());
}

BOOST_AUTO_TEST_CASE(an_unusable_directory_defers) {
  TempDir tmp;
  std::ofstream(tmp.path / "file") << "not a directory";
  sinetti::ManualClock clock;
  MaildirTransport t(tmp.path / "file", clock);
  StringBodySource body("Subject: x\r\n\r\n");
  const auto r = run(t, envelope(), body);
  BOOST_TEST((r.recipients.at(0).outcome == Outcome::deferred));
  BOOST_TEST(r.recipients.at(0).diagnostic.find("not a directory") != std::string::npos, r.recipients.at(0).diagnostic);
}

BOOST_AUTO_TEST_CASE(line_breaks_in_addresses_are_refused) {
  TempDir tmp;
  sinetti::ManualClock clock;
  MaildirTransport t(tmp.path, clock);
  Envelope e = envelope();
  e.recipients = {"team@example.fi\r\nX-Injected: yes"};
  StringBodySource body("Subject: x\r\n\r\n");
  const auto r = run(t, e, body);
  BOOST_TEST((r.recipients.at(0).outcome == Outcome::failed));
  BOOST_TEST(files_in(tmp.path / "new").empty());
}

BOOST_AUTO_TEST_CASE(a_stopping_runner_defers) {
  TempDir tmp;
  sinetti::ManualClock clock;
  MaildirTransport t(tmp.path, clock, [](std::function<void()>) -> asio::awaitable<void> {
    throw std::runtime_error("worker pool stopped");
    co_return;
  });
  StringBodySource body("Subject: x\r\n\r\n");
  const auto r = run(t, envelope(), body);
  BOOST_TEST((r.recipients.at(0).outcome == Outcome::deferred));
  BOOST_TEST(r.recipients.at(0).diagnostic.find("worker pool stopped") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
