// Retention and the Housekeeping service: a run shreds what is due and nothing else, records itself
// in the audit log (always for an operator's purge, only when it removed something for the server),
// keeps the audit chain verifiable; the service runs at start, on run_now(), and every interval.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "config/config.hpp"
#include "gateway/housekeeping/housekeeping.hpp"
#include "gateway/housekeeping/retention.hpp"
#include "../server/support.hpp"
#include "../store/store_fixture.hpp"

using namespace sinetti;
using namespace std::chrono_literals;
using server::test::CapturedLog;
using server::test::eventually;
namespace asio = server::asio;

namespace {

std::shared_ptr<const config::Config> load_config(const std::filesystem::path& dir, const std::string& extra) {
  const auto path = dir / "sinetti.yaml";
  server::test::write_file(path, server::test::test_config(dir, 0, extra));
  auto loaded = config::load_file(path, config::LoadOptions{false});
  if (!loaded.config) {
    for (const auto& e : loaded.errors) BOOST_TEST_MESSAGE(e.str());
  }
  BOOST_REQUIRE(loaded.config);
  return loaded.config;
}

// A stored protected message that expires at `expires`.
void store_message(store::Store& s, const std::string& id, store::Timestamp expires) {
  auto batch = store_test::whole_message(id);
  batch.messages.front().meta->expires = expires;
  BOOST_REQUIRE(s.commit(std::move(batch)).ok());
}

store::MessageState state_of(store::Store& s, const std::string& id) {
  auto m = s.find_message(id);
  BOOST_REQUIRE(m.ok() && m->has_value());
  return (**m).state;
}

std::vector<store::AuditRecord> records(store::Store& s, const std::string& event) {
  std::vector<store::AuditRecord> out;
  BOOST_REQUIRE(s.export_audit(0, [&](const store::AuditRecord& r) {
                   if (r.event == event) out.push_back(r);
                   return true;
                 }).ok());
  return out;
}

// The service on a real io_context and worker pool.
struct Running {
  asio::io_context io;
  server::WorkerPool workers{2};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{io.get_executor()};
  std::unique_ptr<housekeeping::Housekeeping> service;
  std::thread thread;

  Running(store::Store& s, std::shared_ptr<const config::Config> c, const Clock& clock, const log::Logger& logger,
          housekeeping::HousekeepingOptions options = {}) {
    service = std::make_unique<housekeeping::Housekeeping>(io, workers, s, std::move(c), clock, logger, options);
    BOOST_REQUIRE(!service->start());
    thread = std::thread([this] { io.run(); });
  }
  ~Running() {
    service->drain();
    BOOST_CHECK(eventually([&] { return service->active() == 0; }));
    guard.reset();
    thread.join();
    workers.stop();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(housekeeping_retention)

BOOST_AUTO_TEST_CASE(a_run_shreds_what_is_due_and_records_itself) {
  store_test::Fixture f;
  auto s = f.open();
  const auto c = load_config(f.dir.path(), "");
  store_message(*s, "due", f.now() - 1min);
  store_message(*s, "later", f.now() + 1h);

  auto r = housekeeping::run_retention(*c, *s, f.clock.now(), "cli:op", housekeeping::RecordRun::when_removed);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->expired == 1u);
  BOOST_TEST(state_of(*s, "due") == store::MessageState::expired);
  BOOST_TEST(state_of(*s, "later") == store::MessageState::stored);
  auto runs = records(*s, "retention.run");
  BOOST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(runs[0].actor == "cli:op");
  BOOST_TEST(runs[0].details.find("\"expired\":1") != std::string::npos, runs[0].details);

  // Nothing left to do: the server's run leaves no record, an operator's purge does.
  r = housekeeping::run_retention(*c, *s, f.clock.now(), "system", housekeeping::RecordRun::when_removed);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->removed_anything());
  BOOST_TEST(records(*s, "retention.run").size() == 1u);
  r = housekeeping::run_retention(*c, *s, f.clock.now(), "cli:op", housekeeping::RecordRun::always);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(records(*s, "retention.run").size() == 2u);

  auto v = s->verify_audit();
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->ok, v->problem);
}

BOOST_AUTO_TEST_CASE(finished_queue_entries_go_after_the_delivery_lifetime) {
  store_test::Fixture f;
  auto s = f.open();
  const auto c = load_config(f.dir.path(), "");
  auto batch = store_test::whole_message("m1");
  batch.queue.push_back(store_test::entry("m1", "team@example.fi"));
  BOOST_REQUIRE(s->commit(std::move(batch)).ok());
  BOOST_REQUIRE(s->drop("m1.1", {}).ok());
  auto r = housekeeping::run_retention(*c, *s, f.clock.now(), "system", housekeeping::RecordRun::when_removed);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->queue_entries == 0u);  // just dropped: kept for `queue list`
  f.clock.advance(c->delivery.lifetime + 1h);
  r = housekeeping::run_retention(*c, *s, f.clock.now(), "system", housekeeping::RecordRun::when_removed);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->queue_entries == 1u);
  auto gone = s->find_queue_entry("m1.1");
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(!gone->has_value());
}

BOOST_AUTO_TEST_CASE(the_service_runs_at_start_and_on_request) {
  store_test::Fixture f;
  auto s = f.open();
  CapturedLog log;
  const auto c = load_config(f.dir.path(), "retention: {protected_messages: 1d, interval: 1h}\n");
  BOOST_TEST(std::chrono::duration_cast<std::chrono::minutes>(c->retention.interval).count() == 60);
  store_message(*s, "soon", f.now() + 1h);
  store_message(*s, "later", f.now() + 48h);
  {
    Running hk(*s, c, f.clock, log.logger());
    BOOST_REQUIRE(eventually([&] { return hk.service->runs() >= 1; }));  // the run at start
    BOOST_TEST(state_of(*s, "soon") == store::MessageState::stored);
    BOOST_TEST(records(*s, "retention.run").empty());

    // The clock is read only during a run, and the service is idle until the next hour.
    f.clock.advance(2h);
    hk.service->run_now();
    BOOST_REQUIRE(eventually([&] { return hk.service->runs() >= 2; }));
    BOOST_TEST(state_of(*s, "soon") == store::MessageState::expired);
    BOOST_TEST(state_of(*s, "later") == store::MessageState::stored);
    auto runs = records(*s, "retention.run");
    BOOST_REQUIRE(runs.size() == 1u);
    BOOST_TEST(runs[0].actor == "system");
    auto expired = records(*s, "message.expired");
    BOOST_REQUIRE(expired.size() == 1u);
    BOOST_TEST(expired[0].message_id == "soon");
  }
  const auto logged = log.events("retention");
  BOOST_REQUIRE(logged.size() == 2u);
  BOOST_TEST(logged[0].find("\"expired\":0") != std::string::npos, logged[0]);
  BOOST_TEST(logged[1].find("\"expired\":1") != std::string::npos, logged[1]);
}

BOOST_AUTO_TEST_CASE(the_service_runs_every_interval) {
  store_test::Fixture f;
  auto s = f.open();
  CapturedLog log;
  const auto c = load_config(f.dir.path(), "");
  {
    housekeeping::HousekeepingOptions options;
    options.interval = 20ms;
    Running hk(*s, c, f.clock, log.logger(), options);
    BOOST_TEST(eventually([&] { return hk.service->runs() >= 4; }));
  }
  BOOST_TEST(log.events("retention").size() >= 4u);
  BOOST_TEST(log.events("retention_failed").empty());
}

BOOST_AUTO_TEST_SUITE_END()
