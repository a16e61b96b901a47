// monitor: where the sync stands (state, lag, positions, counters, the last cutover), read from
// the databases, as `stagesync status` prints it and as the monitor endpoint of `run` serves it:
// /metrics, /status, /history and the dashboard.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::apply {
class ApplyMetrics;
}

namespace stagesync::monitor {

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
  std::string cutover_json;  // the last cutover's report as it recorded it (JSON), "" if none
  // transport = "kafka": apply's consumer lag (records) per topic partition; nullopt when the
  // brokers could not be asked.
  struct KafkaLag {
    std::string topic;
    int32_t partition = 0;
    int64_t lag = 0;
  };
  std::optional<std::vector<KafkaLag>> kafka_lag;
  // Source tables whose changes the [upgrade] rules drop on purpose ([[drop]]).
  struct DroppedTable {
    std::string table, rule, reason;
  };
  std::vector<DroppedTable> dropped_tables;
  // `stagesync copy` into this target, as far as its ranges are committed; nullopt: none.
  struct Copy {
    bool finished = false;
    std::string snapshot, stream_starts_at;
    struct Table {
      std::string table;
      int parts = 0, parts_done = 0;
      uint64_t rows = 0, bytes = 0;
    };
    std::vector<Table> tables;
    size_t TablesRemaining() const;
  };
  std::optional<Copy> copy;
};

// Reads the status from the databases; works whether or not `run` is up. With nothing
// streaming the slot, the lag comes from peeking at the slot, which holds it for a moment:
// processes that stream it themselves, or wait for that (the monitor, the cutover), pass
// peek_slot = false and get an unknown lag instead.
SyncStatus ReadStatus(const Config& config, bool peek_slot = true);
// `status --json` (the contract's object) and the text a terminal shows.
std::string StatusJson(const SyncStatus& status);
std::string StatusText(const SyncStatus& status);

// The monitor endpoint of `run`, on monitor.listen: GET /metrics (Prometheus text),
// GET /status (the contract's JSON), GET /history (the last 10 minutes, one sample a second)
// and GET / (the dashboard page). The history is sampled once a second. With
// monitor.token_file, /status and /history need "Authorization: Bearer <token>"; the page
// itself holds no data and passes the token from its ?token= to those requests. `config`
// must outlive the server; `live`, the running applier's counters, is shared.
class MonitorServer {
 public:
  explicit MonitorServer(const Config& config,
                         std::shared_ptr<const apply::ApplyMetrics> live = nullptr);
  ~MonitorServer();  // Stop()
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;
  // Binds and starts serving on a thread; a usage error names monitor.listen/token_file.
  Status Start();
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stagesync::monitor
