#include "stagesync/event_queue.h"

namespace stagesync {

bool EventQueue::Push(EventBatch& batch, std::chrono::milliseconds timeout) {
  size_t size = 0;
  for (const auto& e : batch) size += ApproximateSize(e);
  std::unique_lock lock(mutex_);
  // An oversized batch is admitted into an empty queue so progress is always possible.
  bool room = not_full_.wait_for(
      lock, timeout, [&] { return closed_ || bytes_ == 0 || bytes_ + size <= max_bytes_; });
  if (!room) return false;
  if (closed_) return true;
  bytes_ += size;
  batches_.emplace_back(std::move(batch), size);
  batch.clear();
  not_empty_.notify_one();
  return true;
}

std::optional<EventBatch> EventQueue::Pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !batches_.empty(); })) {
    return std::nullopt;
  }
  if (batches_.empty()) return std::nullopt;
  auto [batch, size] = std::move(batches_.front());
  batches_.pop_front();
  bytes_ -= size;
  not_full_.notify_all();
  return std::move(batch);
}

void EventQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

bool EventQueue::closed_and_empty() const {
  std::lock_guard lock(mutex_);
  return closed_ && batches_.empty();
}

bool EventQueue::empty() const {
  std::lock_guard lock(mutex_);
  return batches_.empty();
}

size_t EventQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace stagesync
