// Restarts of a pipeline: the wait between lives and the loop that rides out transient
// failures (a source or target restarting) until the process is told to stop.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "stagesync/status.h"

namespace stagesync::run {

// The wait before each restart: 1 s, doubling up to 30 s. After a life that reached its
// source it starts afresh, so a pipeline that ran for hours and then lost its source waits a
// second, not what its last outage had grown to.
class Backoff {
 public:
  static constexpr std::chrono::seconds kFirst{1};
  static constexpr std::chrono::seconds kLongest{30};
  // The wait before the next life, after one that did (`was_up`) or did not get up.
  std::chrono::seconds Next(bool was_up);

 private:
  std::chrono::seconds next_ = kFirst;
};

// One life of a pipeline: it ends when `stop` is set or something fails, and sets `up` once
// it reached its source and streams from it.
using Life = std::function<Status(const std::atomic<bool>& stop, std::atomic<bool>& up)>;

// Runs `life` until `stop`, restarting it after transient failures with Backoff's waits
// (which a stop cuts short); `command` names it in the log. Returns Ok after the stop, or
// the first failure that is not transient.
Status RunWithRetries(const char* command, const std::atomic<bool>& stop, const Life& life);

}  // namespace stagesync::run
