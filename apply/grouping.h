// What every applier does about source transactions, whatever the target: consecutive
// transactions are grouped into one target transaction (bounded by apply.batch_rows and
// apply.batch_delay, never split), those the target already has are skipped, and a group the
// stream stopped inside is rolled back.
#pragma once

#include <chrono>
#include <optional>

#include "stagesync/apply.h"

namespace stagesync::apply {

class TransactionGrouping {
 public:
  virtual ~TransactionGrouping() = default;

  // Applies the queue's events until it is closed and drained, or an error.
  Status Drive(EventQueue& queue);

 protected:
  using Clock = std::chrono::steady_clock;

  virtual bool GroupOpen() const = 0;  // a target transaction is open
  virtual Status OpenGroup() = 0;      // opens one
  virtual Status ApplyRow(RowChange& change) = 0;
  virtual Status ApplyTruncate(const TruncateChange& truncate) = 0;
  // Writes what is pending in the open group without committing it.
  virtual Status FlushAll() = 0;
  // Writes what is pending, the applied position (group_end) and commits.
  virtual Status CommitGroup() = 0;
  // Rolls the open group back and forgets what is pending.
  virtual void Abandon() = 0;
  // Between batches, and once at the end (`final`): work that is not about one group.
  virtual Status Tick(bool /*final*/) { return Status::Ok(); }
  // How long to wait for events at most before calling Tick.
  virtual std::chrono::milliseconds MaxWait() const { return std::chrono::milliseconds(200); }
  // After the target committed the group that started at `started`: counters and progress.
  void GroupCommitted(Clock::time_point started);
  // For a batch that came through Kafka: its rows and truncates applied and flushed in a
  // group of their own (rolled back on failure); `newest` is the newest source commit time.
  Status ApplyKafkaEvents(std::vector<ChangeEvent>& events, TimestampUs* newest);
  // After such a batch committed.
  void KafkaBatchCommitted(TimestampUs newest);

 public:
  // The applier's state, read by its public face (position, progress).
  Config config;
  ApplyProgress progress;
  Lsn applied = 0;  // end of the last source transaction in the target
  uint64_t events_total = 0, txns_total = 0;
  // The open group.
  bool in_txn = false, skipping = false, txn_has_data = false;
  Lsn group_end = 0;
  TimestampUs group_commit_time = 0;
  uint64_t group_events = 0, group_txns = 0;
  size_t group_rows = 0;
  Clock::time_point group_start;

 private:
  Status OnBegin(const TxnBegin& begin);
  // A row change or truncate: counted for the monitor and handed to its hook. nullopt for the
  // other events (transaction boundaries, messages).
  std::optional<Status> ApplyData(ChangeEvent& event);
  // Row and truncate counts for the monitor, committed with the group.
  void Counted(const RowChange& row);
  void Counted(const TruncateChange& truncate);
  void OnCommit(const TxnCommit& commit);
};

}  // namespace stagesync::apply
