// apply: replays change events into the target, exactly once and in source commit order.
// The applied position is written in the same target transaction as the data.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/event_queue.h"
#include "stagesync/status.h"

namespace stagesync::apply {

// The target's bookkeeping schema (applied position, source column snapshot).
inline constexpr const char* kTargetSchema = "stagesync";

// Creates the bookkeeping tables and records which source columns exist now (those may be
// dropped on the way to the target; columns added later must exist on the target).
// Selected tables missing on the target are reported as warnings: staging may be copied
// after setup. Idempotent.
Status PreparePostgresTarget(const Config& config, const std::vector<TableShape>& source_tables,
                             std::vector<std::string>* warnings);

// Every selected source table must map onto a target table; lists each that does not.
Status CheckPostgresTargetMapping(const Config& config,
                                  const std::vector<TableShape>& source_tables,
                                  std::vector<std::string>* problems);

// Live figures of a running applier, readable from other threads.
struct ApplyProgress {
  std::atomic<Lsn> durable{0};                      // end LSN of the last committed source txn
  std::atomic<TimestampUs> applied_commit_time{0};  // its source commit time
  std::atomic<TimestampUs> pending_since{0};  // commit time of the oldest unapplied txn, 0: none
  std::atomic<uint64_t> events_applied{0};
  std::atomic<uint64_t> transactions_applied{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<int64_t> last_batch_us{0};
};

class PostgresApplier {
 public:
  // Connects to the target and reads the applied position.
  static Status Open(const Config& config, std::unique_ptr<PostgresApplier>* out);
  ~PostgresApplier();
  PostgresApplier(const PostgresApplier&) = delete;
  PostgresApplier& operator=(const PostgresApplier&) = delete;

  // Where the source should resume: the end of the last applied transaction (0: none yet).
  Lsn resume_position() const;

  // Applies events until the queue is closed and drained, or an error. Transactions are
  // grouped (apply.batch_rows, apply.batch_delay) but never split; a transaction the
  // target already has (at or before the applied position) is skipped.
  Status Run(EventQueue& queue);

  ApplyProgress& progress();

 private:
  struct Impl;
  explicit PostgresApplier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The bookkeeping row as `status` reads it.
struct AppliedPosition {
  bool found = false;
  Lsn lsn = 0;
  std::optional<TimestampUs> commit_time;
  uint64_t events_applied = 0;
  uint64_t transactions_applied = 0;
  std::optional<TimestampUs> updated_at;
  std::optional<TimestampUs> live_at;
  std::optional<double> live_lag_seconds;
  std::string live_state;
  TimestampUs target_now = 0;
};
Status ReadAppliedPosition(const Config& config, AppliedPosition* out);

// Records a running process's live view (lag, state) in the bookkeeping row, for `status`.
// Uses its own connection; call from one thread.
class LiveStatusWriter {
 public:
  explicit LiveStatusWriter(const Config& config);
  ~LiveStatusWriter();
  Status Write(double lag_seconds, const std::string& state);

 private:
  const Config& config_;
  std::unique_ptr<struct LiveStatusConnection> conn_;
};

}  // namespace stagesync::apply
