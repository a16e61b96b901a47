#include "grouping.h"

#include <algorithm>
#include <optional>

#include "stagesync/log.h"

namespace stagesync::apply {

Status TransactionGrouping::OnBegin(const TxnBegin& b) {
  in_txn = true;
  txn_has_data = false;
  // Already in the target (a restart re-sends from the source's confirmed position).
  skipping = b.final_lsn < applied;
  if (skipping) return Status::Ok();
  if (!GroupOpen()) {
    if (Status s = OpenGroup(); !s.ok()) return s;
    progress.metrics->Discard();  // what an abandoned group counted
    group_start = Clock::now();
  }
  if (progress.pending_since == 0) progress.pending_since = b.commit_time;
  return Status::Ok();
}

void TransactionGrouping::OnCommit(const TxnCommit& c) {
  in_txn = false;
  if (skipping) {
    skipping = false;
    return;
  }
  group_end = c.end_lsn;
  group_commit_time = c.commit_time;
  if (txn_has_data) group_txns++;
}

std::optional<Status> TransactionGrouping::ApplyData(ChangeEvent& ev) {
  if (auto* row = std::get_if<RowChange>(&ev)) {
    Counted(*row);  // before the hook, which may move the row away
    FillUnchangedFromOld(*row);
    return ApplyRow(*row);
  }
  if (auto* t = std::get_if<TruncateChange>(&ev)) {
    Counted(*t);
    return ApplyTruncate(*t);
  }
  return std::nullopt;
}

void TransactionGrouping::Counted(const RowChange& row) {
  if (skipping || IsHeartbeat(*row.relation)) return;
  static constexpr ApplyMetrics::Op kOp[] = {ApplyMetrics::kInsert, ApplyMetrics::kUpdate,
                                             ApplyMetrics::kDelete};
  progress.metrics->Count(row.relation, kOp[static_cast<int>(row.op)]);
}

void TransactionGrouping::Counted(const TruncateChange& truncate) {
  if (skipping) return;
  for (const auto& rel : truncate.relations) {
    progress.metrics->Count(rel, ApplyMetrics::kTruncate);
  }
}

void TransactionGrouping::GroupCommitted(Clock::time_point started) {
  if (group_end > applied) applied = group_end;
  events_total += group_events;
  txns_total += group_txns;
  progress.applied_commit_time = group_commit_time;
  progress.events_applied = events_total;
  progress.transactions_applied = txns_total;
  progress.batches++;
  progress.last_batch_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  progress.metrics->Committed(std::chrono::duration<double>(Clock::now() - started).count());
  progress.pending_since = 0;
  group_events = group_txns = 0;
  group_rows = 0;
}

Status TransactionGrouping::ApplyKafkaEvents(std::vector<ChangeEvent>& events,
                                             TimestampUs* newest) {
  if (!GroupOpen()) {
    if (Status s = OpenGroup(); !s.ok()) return s;
  }
  progress.metrics->Discard();
  group_start = Clock::now();
  skipping = false;
  *newest = 0;
  for (ChangeEvent& ev : events) {
    Status s;
    if (auto data = ApplyData(ev)) {
      s = *data;
    } else if (auto* c = std::get_if<TxnCommit>(&ev)) {
      *newest = std::max(*newest, c->commit_time);  // source time of the batch's records
    }
    if (!s.ok()) {
      Abandon();
      return s;
    }
  }
  if (Status s = FlushAll(); !s.ok()) {
    Abandon();
    return s;
  }
  return Status::Ok();
}

void TransactionGrouping::KafkaBatchCommitted(TimestampUs newest) {
  progress.metrics->Committed(std::chrono::duration<double>(Clock::now() - group_start).count());
  events_total += group_events;
  progress.events_applied = events_total;
  if (newest) progress.applied_commit_time = newest;
  progress.batches++;
  group_events = group_txns = 0;
  group_rows = 0;
}

Status TransactionGrouping::Drive(EventQueue& queue) {
  while (true) {
    auto wait = MaxWait();
    if (GroupOpen() && !in_txn) {
      auto left = config.apply.batch_delay -
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - group_start);
      wait = std::max(std::chrono::milliseconds(0), std::min(wait, left));
    }
    auto batch = queue.Pop(wait);
    if (!batch) {
      if (GroupOpen() && !in_txn) {
        if (Status s = CommitGroup(); !s.ok()) {
          Abandon();
          return s;
        }
      }
      if (Status s = Tick(false); !s.ok()) return s;
      if (queue.closed_and_empty()) break;
      continue;
    }
    for (ChangeEvent& ev : *batch) {
      Status s;
      if (auto data = ApplyData(ev)) {
        s = *data;
      } else if (auto* b = std::get_if<TxnBegin>(&ev)) {
        s = OnBegin(*b);
      } else if (auto* c = std::get_if<TxnCommit>(&ev)) {
        OnCommit(*c);
        bool full = group_rows >= config.apply.batch_rows ||
                    Clock::now() - group_start >= config.apply.batch_delay;
        if (GroupOpen() && full) s = CommitGroup();
      }
      if (!s.ok()) {
        Abandon();
        return s;
      }
    }
    if (GroupOpen() && !in_txn && queue.empty()) {
      if (Status s = CommitGroup(); !s.ok()) {
        Abandon();
        return s;
      }
    }
  }
  if (in_txn && GroupOpen()) {
    // Stopped inside a transaction: it was not received whole, so none of the open group
    // is committed; the source sends it again from the applied position.
    LOG_INFO(
        "apply: stopping inside a source transaction; its group is rolled back and will "
        "be re-sent");
    Abandon();
  }
  return Tick(true);
}

}  // namespace stagesync::apply
