// Awaiting the store's asynchronous writes from a coroutine: the completion runs on the store's
// writer thread and only posts the result back to the coroutine's executor (its strand), so it never
// blocks the writer.
#pragma once

#include <memory>
#include <utility>

#include "gateway/server/asio.hpp"
#include "gateway/store/store.hpp"

namespace sinetti::ingest {

namespace asio = server::asio;

// `start(Completion<T>)` begins the store operation, e.g.
//   co_await await_store<std::monostate>([&](auto done) { store.commit_async(std::move(batch), done); });
template <typename T, typename Start>
asio::awaitable<Result<T>> await_store(Start start) {
  auto result = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      [start = std::move(start)](auto handler) mutable {
        auto executor = asio::get_associated_executor(handler);
        auto work = asio::prefer(executor, asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(store::Completion<T>([shared, work](Result<T> r) mutable {
          asio::post(work, [shared, r = std::move(r)]() mutable { std::move (*shared)(std::move(r)); });
        }));
      },
      asio::use_awaitable);
  co_return result;
}

}  // namespace sinetti::ingest
