// cutover: where the sync stands (lag, positions, state) and, later, the switch itself.
#pragma once

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
  std::string error;  // why state is "error"
};

// Reads the status from the databases; works whether or not `run` is up.
SyncStatus ReadStatus(const Config& config);
std::string StatusJson(const SyncStatus& status);
std::string StatusText(const SyncStatus& status);

// The lag of a running pipeline, from what apply holds pending and what capture last saw.
double LiveLagSeconds(const Config& config, const apply::ApplyProgress& apply,
                      const capture::CaptureProgress& capture, TimestampUs now);
// "streaming" when lag is within a couple of heartbeats, else "catching_up".
std::string LiveState(const Config& config, double lag_seconds);

// The status in Prometheus' text exposition format (what GET /metrics serves).
std::string MetricsText(const SyncStatus& status);

// The monitor endpoint of `run`, on monitor.listen: GET /metrics (Prometheus text) and
// GET /status (the contract's JSON), both read from the databases. With monitor.token_file,
// everything but /metrics needs "Authorization: Bearer <token>".
class MonitorServer {
 public:
  explicit MonitorServer(const Config& config);
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

// `verify`: one selected source table against its target table.
struct TableVerdict {
  std::string source_table, target_table;
  int64_t source_rows = -1, target_rows = -1;
  bool checksummed = false, checksum_equal = false;
  std::vector<std::string> differences;  // the first few: missing rows, differing values
  std::string note;                      // e.g. why the content was not compared
  std::string error;                     // the table could not be compared
};
struct VerifyReport {
  std::vector<TableVerdict> tables;
  bool equal() const;
};
// Called before each table (and once at the end with an empty name), for a progress line.
using VerifyProgress = std::function<void(const std::string& table, size_t done, size_t total)>;
// Compares every selected table: row counts, and with `checksum` every row in key order,
// values normalised across engines (numbers, booleans, bytes, timestamps, JSON).
Status Verify(const Config& config, bool checksum, const VerifyProgress& progress,
              VerifyReport* report);
std::string VerifyJson(const VerifyReport& report);
std::string VerifyText(const VerifyReport& report);

}  // namespace stagesync::cutover
