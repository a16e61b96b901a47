// What `run` and `capture` check before they stream, so a setup step left out or a second
// process on the same slot is a usage error naming the fix, not a failure at the first event.
#include <chrono>
#include <thread>

#include "stagesync/run.h"

namespace stagesync::run {

Status PreflightSource(const Config& config, bool check_target, capture::SourceCheck* check) {
  if (Status s = capture::CheckSource(config, check); !s.ok()) return s;
  if (check_target) {
    if (Status s = apply::CheckTargetMapping(config, check->tables, &check->problems); !s.ok()) {
      return s;
    }
  }
  capture::SourcePosition source;
  // A `status` peeking at the slot holds it for a moment: only a slot busy for a few seconds
  // means another consumer.
  for (int attempt = 0;; ++attempt) {
    source = capture::SourcePosition{};
    if (Status s = capture::ReadSourcePosition(config, &source); !s.ok()) return s;
    if (!source.slot_active || attempt >= 25) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!source.slot_exists) {
    check->problems.push_back(
        config.source.kind == Engine::kMysql
            ? "stream " + config.source.slot +
                  " has no start position on the source: run `stagesync setup`"
            : "slot " + config.source.slot +
                  " does not exist on the source: run `stagesync setup`");
  } else if (source.slot_active) {  // MySQL: the stream's lock is held
    check->problems.push_back(
        "slot " + config.source.slot +
        " is already being streamed (another `stagesync run` or `capture`?): stop it first");
  }
  return Status::Ok();
}

}  // namespace stagesync::run
