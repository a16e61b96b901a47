// cutover: where the sync stands (lag, positions, state), the monitor that shows it, and the
// cutover state machine that fences production and switches to the target.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::cutover {

// The contract's status object.
struct SyncStatus {
  std::string state = "idle";  // idle | streaming | catching_up | fenced | cutover_done | error
  std::optional<double> lag_seconds;
  std::optional<int64_t> source_bytes_behind;
  std::string applied_position;
  uint64_t events_applied = 0;
  uint64_t transactions_applied = 0;
  std::string source_position;
  std::string slot;
  std::optional<TimestampUs> applied_commit_time;
  bool run_alive = false;
  std::string error;         // why state is "error"
  std::string cutover_json;  // the last cutover's report (CutoverJson), "" if none
  // transport = "kafka": apply's consumer lag (records) per topic partition; nullopt when the
  // brokers could not be asked.
  struct KafkaLag {
    std::string topic;
    int32_t partition = 0;
    int64_t lag = 0;
  };
  std::optional<std::vector<KafkaLag>> kafka_lag;
};

// Reads the status from the databases; works whether or not `run` is up. With nothing
// streaming the slot, the lag comes from peeking at the slot, which holds it for a moment:
// processes that stream it themselves, or wait for that (the monitor, the cutover), pass
// peek_slot = false and get an unknown lag instead.
SyncStatus ReadStatus(const Config& config, bool peek_slot = true);
std::string StatusJson(const SyncStatus& status);
std::string StatusText(const SyncStatus& status);

// The status in Prometheus' text exposition format (what GET /metrics serves); with `live`,
// the running applier's per-table counters and batch-duration histogram too.
std::string MetricsText(const SyncStatus& status,
                        const apply::ApplyMetrics::Snapshot* live = nullptr);
// The status JSON with the running applier's "tables" and "apply_batch" added.
std::string LiveStatusJson(const SyncStatus& status, const apply::ApplyMetrics::Snapshot& live);

// The monitor endpoint of `run`, on monitor.listen: GET /metrics (Prometheus text),
// GET /status (the contract's JSON), GET /history (the last 10 minutes, one sample a second)
// and GET / (the dashboard page). The history is sampled once a second. With
// monitor.token_file, /status and /history need "Authorization: Bearer <token>"; the page
// itself holds no data and passes the token from its ?token= to those requests.
class MonitorServer {
 public:
  explicit MonitorServer(const Config& config,
                         std::shared_ptr<const apply::ApplyMetrics> live = nullptr);
  ~MonitorServer();
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;
  // Binds and starts serving on a thread; a usage error names monitor.listen/token_file.
  Status Start();
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

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
