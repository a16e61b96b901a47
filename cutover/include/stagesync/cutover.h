// cutover: the state machine that waits for the lag, fences production, drains the last changes
// into the target, syncs its counters, verifies and switches (CONTRACT.md).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::cutover {

// The cutover state machine (CONTRACT.md): gate on lag, fence production, drain through a
// marker, sync sequences, verify, switch. Any failure before the switch completes unfences
// production and puts back what it changed on the target.
enum class StepStatus { kPending, kRunning, kOk, kFailed, kSkipped };
enum class CutoverState { kRunning, kFenced, kFailed, kDone, kDryRunDone };
// The contract's words for them, as the report's JSON and text (and `status`) show them:
// pending | running | ok | failed | skipped; running | fenced | failed | done | dry_run_done.
const char* StepStatusName(StepStatus status);
const char* CutoverStateName(CutoverState state);
struct CutoverStep {
  std::string name;  // gate | fence | marker | sequences | verify | switch
  StepStatus status = StepStatus::kPending;
  std::optional<double> seconds;
  std::string detail;
};
struct CutoverReport {
  CutoverState state = CutoverState::kRunning;
  bool dry_run = false;
  TimestampUs started_at = 0;
  std::vector<CutoverStep> steps;
  std::optional<double> downtime_seconds;  // switch end - fence start
  std::string failed_step, error;
  std::string unfenced;  // after a failure: what was undone
};
struct CutoverOptions {
  Duration max_lag{0};                          // 0: cutover.max_lag
  Duration timeout = std::chrono::minutes(10);  // for the lag gate
  bool dry_run = false;
};
// Runs the steps; `progress` is called after each change of the report. A failed step is
// reported in `report` with a non-ok Status (exit 1; 2 for preconditions not met).
Status RunCutover(const Config& config, const CutoverOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const CutoverReport&)>& progress, CutoverReport* report);
std::string CutoverJson(const CutoverReport& report);
std::string CutoverText(const CutoverReport& report);

}  // namespace stagesync::cutover
