// The hand-off between capture and apply in one process: a bounded, blocking queue of event
// batches. Bounded by bytes so a huge source transaction never buffers whole in memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "stagesync/change.h"

namespace stagesync {

using EventBatch = std::vector<ChangeEvent>;

class EventQueue {
 public:
  explicit EventQueue(size_t max_bytes) : max_bytes_(max_bytes) {}
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Waits up to `timeout` for room. Returns false (batch untouched) on timeout; a closed
  // queue accepts and drops nothing: Push returns true so producers stop cleanly.
  bool Push(EventBatch& batch, std::chrono::milliseconds timeout);

  // Waits up to `timeout` for a batch. nullopt on timeout or when closed and drained.
  std::optional<EventBatch> Pop(std::chrono::milliseconds timeout);

  // No more pushes; Pop drains what is queued, then reports closed().
  void Close();
  bool closed_and_empty() const;
  bool empty() const;
  size_t bytes() const;

 private:
  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::pair<EventBatch, size_t>> batches_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

}  // namespace stagesync
