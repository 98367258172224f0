// BodyPipe: hands a streamed response body (BodyStream::produce on a worker thread) to the
// connection's coroutine, a few pieces at a time. The producer blocks while `capacity` pieces wait
// (so a slow client holds back the decryption, and memory stays at capacity x piece size); the
// consumer waits on a timer that the producer cancels, on the connection's strand, whenever it
// adds a piece or finishes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/server/asio.hpp"
#include "sinetti/blocking.hpp"

namespace sinetti::portal {

namespace asio = boost::asio;

class BodyPipe : public std::enable_shared_from_this<BodyPipe> {
 public:
  using Executor = asio::any_io_executor;  // the connection's strand

  BodyPipe(Executor strand, std::size_t capacity)
      : strand_(strand), timer_(strand), capacity_(capacity < 1 ? 1 : capacity) {}

  // Producer side (any thread). false: the consumer is gone or did not make room within `timeout`.
  bool push(std::string_view piece, std::chrono::milliseconds timeout) {
    {
      std::unique_lock lock(mutex_);
      const auto room = [&] { return cancelled_ || queue_.size() < capacity_; };
      if (!room()) {
        const Waiting waiting;  // for the client to read: another pool thread may run meanwhile
        if (!room_.wait_for(lock, timeout, room)) return false;
      }
      if (cancelled_) return false;
      queue_.emplace_back(piece);
    }
    wake();
    return true;
  }
  // The producer is done; `ok` false: it failed, the body is incomplete.
  void finish(bool ok) {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
      ok_ = ok;
    }
    wake();
  }

  // Consumer side (on the strand).
  struct Item {
    std::optional<std::string> piece;  // nullopt: the end
    bool ok = true;                    // at the end: whether the producer succeeded
  };
  asio::awaitable<Item> next() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) {
          Item item{std::move(queue_.front()), true};
          queue_.pop_front();
          room_.notify_one();
          co_return item;
        }
        if (finished_) co_return Item{std::nullopt, ok_};
      }
      timer_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  // The consumer stops (the connection failed): the producer's next push returns false.
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    room_.notify_all();
  }

 private:
  void wake() {
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  Executor strand_;
  asio::steady_timer timer_;  // strand only
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable room_;
  std::deque<std::string> queue_;
  bool finished_ = false;
  bool ok_ = true;
  bool cancelled_ = false;
};

}  // namespace sinetti::portal
