// The blocking forms of Store's asynchronous writes: submit, then wait for the completion.
#include "gateway/store/store.hpp"

#include <future>
#include <utility>

#include "sinetti/blocking.hpp"

namespace sinetti::store {

namespace {

template <typename Submit>
Status wait_for(bool on_writer_thread, Submit&& submit) {
  if (on_writer_thread) return make_error("store: blocking call from a completion handler (it would deadlock)");
  std::promise<Status> promise;
  auto future = promise.get_future();
  submit([&promise](Status result) { promise.set_value(std::move(result)); });
  const Waiting waiting;
  return future.get();
}

}  // namespace

Status Store::begin_message(MessageMeta meta) {
  return wait_for(on_writer_thread(), [&](Completion<std::monostate> done) {
    begin_message_async(std::move(meta), std::move(done));
  });
}

Status Store::append_chunks(MessageId id, std::vector<Chunk> pieces) {
  return wait_for(on_writer_thread(), [&](Completion<std::monostate> done) {
    append_chunks_async(std::move(id), std::move(pieces), std::move(done));
  });
}

Status Store::commit(CommitBatch batch) {
  return wait_for(on_writer_thread(), [&](Completion<std::monostate> done) {
    commit_async(std::move(batch), std::move(done));
  });
}

Status Store::abort(MessageId id) {
  return wait_for(on_writer_thread(), [&](Completion<std::monostate> done) {
    abort_async(std::move(id), std::move(done));
  });
}

}  // namespace sinetti::store
