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
  // A named initiation, not a temporary in the co_await expression: GCC 12 destroys closure
  // temporaries there twice, which matters as soon as `start` owns something.
  auto initiate = [&start](auto handler) {
    auto executor = asio::get_associated_executor(handler);
    auto work = asio::prefer(executor, asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    start(store::Completion<T>([shared, work](Result<T> r) mutable {
      asio::post(work, [shared, r = std::move(r)]() mutable { std::move (*shared)(std::move(r)); });
    }));
  };
  auto result = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(initiate,
                                                                                              asio::use_awaitable);
  co_return result;
}

}  // namespace sinetti::ingest
