// The writer keeps every statement journal in memory: a savepoint that changes more than 64 KiB of
// pages already in the database (here a commit reusing the pages a shred freed) would otherwise
// have SQLite copy those pages' old contents to a temporary file outside the database. SQLite
// unlinks such a file as soon as it is open, so the test watches the temporary directory with
// inotify for any file made in it. (unit.gateway.large_message bounds the memory this takes.)
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include "store_fixture.hpp"

using namespace store_test;

namespace {

// SQLite's temporary directory pointed at `dir` while it lives; inotify reports what is created there.
struct WatchedTempDir {
  int fd = -1;
  explicit WatchedTempDir(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    BOOST_TEST_REQUIRE(sqlite3_temp_directory == nullptr);
    sqlite3_temp_directory = sqlite3_mprintf("%s", dir.c_str());
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(inotify_add_watch(fd, dir.c_str(), IN_CREATE) >= 0);
  }
  ~WatchedTempDir() {
    if (fd >= 0) ::close(fd);
    sqlite3_free(sqlite3_temp_directory);
    sqlite3_temp_directory = nullptr;
  }
  // Files created since the last call.
  std::size_t created() {
    alignas(inotify_event) char buffer[16 * 1024];
    std::size_t n = 0;
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0) {
        BOOST_TEST_REQUIRE(errno == EAGAIN);
        return n;
      }
      for (ssize_t at = 0; at < got;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
        if ((e->mask & IN_CREATE) != 0) ++n;
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_temp_files)

BOOST_FIXTURE_TEST_CASE(shredding_and_reusing_freed_pages_write_no_temporary_file, Fixture) {
  WatchedTempDir temp(dir.path() / "tmp");
  auto store = open();
  BOOST_TEST_REQUIRE(temp.created() == 0u);  // opening made none: the watch starts clean

  // 400 KB of chunks, then their shred.
  BOOST_TEST_REQUIRE(store->commit(whole_message("big", 100, 4000)).ok());
  BOOST_TEST_REQUIRE(*store->shred("big", ShredReason::erased, "admin"));
  // A new message of the same size fills the freed pages: their old contents are journaled again.
  BOOST_TEST_REQUIRE(store->commit(whole_message("next", 100, 4000)).ok());
  BOOST_TEST(read_all(*store, "next").size() == 100u);
  store.reset();

  BOOST_TEST(temp.created() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
