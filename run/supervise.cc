// The restart loop of `run`, `capture` and `apply`.
#include "supervise.h"

#include <algorithm>
#include <string>
#include <thread>

#include "stagesync/log.h"

namespace stagesync::run {

std::chrono::seconds Backoff::Next(bool was_up) {
  if (was_up) next_ = kFirst;
  std::chrono::seconds wait = next_;
  next_ = std::min(next_ * 2, kLongest);
  return wait;
}

Status RunWithRetries(const char* command, const std::atomic<bool>& stop, const Life& life) {
  Backoff backoff;
  while (true) {
    std::atomic<bool> up{false};
    Status s = life(stop, up);
    // A stop wins over the failure it may have caused (a connection cut short).
    if (stop) break;
    if (!s.ok() && !s.transient()) return s;
    std::chrono::seconds wait = backoff.Next(up);
    LOG_WARN(command << ": " << (s.ok() ? std::string("the stream ended") : s.message())
                     << "; retrying in " << wait.count() << " s");
    for (int i = 0; i < wait.count() * 10 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stop) break;
  }
  LOG_INFO(command << ": stopped cleanly");
  return Status::Ok();
}

}  // namespace stagesync::run
