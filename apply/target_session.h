// What the applier needs of one target engine, on one connection: its transaction and a
// savepoint, its catalog, writes, and the bookkeeping rows. Each engine implements it with
// only its SQL; grouping, plans, batching and the row-by-row fallback are the applier's.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch.h"
#include "rule_plan.h"
#include "stagesync/apply.h"
#include "stagesync/config.h"
#include "table_plan.h"
#include "target_catalog.h"

namespace stagesync::apply {

// The stream's row in stagesync.applied_position.
struct Checkpoint {
  Lsn lsn = 0;                  // end of the last applied source transaction
  TimestampUs commit_time = 0;  // its source commit time, 0: none
  uint64_t events = 0, transactions = 0;
};

// Errors: Status::Transient when the connection is lost (the caller reconnects and resumes
// from the checkpoint), else Status::Error with the target's own words. Nothing throws.
class TargetSession {
 public:
  virtual ~TargetSession() = default;

  // The checkpoint of stream `stream` (a usage error naming `stagesync setup` when there is
  // none) and the source columns setup recorded.
  virtual Status ReadCheckpoint(const std::string& stream, Checkpoint* out,
                                KnownSourceColumns* known) = 0;

  virtual Status Begin() = 0;
  // One savepoint, around each set-based write, for the row-by-row fallback.
  virtual Status Savepoint() = 0;
  virtual Status RollbackToSavepoint() = 0;
  virtual Status ReleaseSavepoint() = 0;
  virtual Status Commit() = 0;
  // Rolls the open transaction back, if any.
  virtual void Rollback() = 0;

  // The target table `schema`.`name` (found by the engine's name rules); nullopt when there
  // is none. `decode_type` of its columns is set (schemaless records are read by it).
  virtual Status LoadTable(const std::string& schema, const std::string& name,
                           std::optional<TargetTable>* out) = 0;

  // A table's coalesced rows, set-based (see TableBatch). An update of a row the target
  // lacks that does not carry every column is an error: the fallback then names the row.
  virtual Status WriteBatch(const TableBatch& batch) = 0;
  // One change exactly as the source made it.
  virtual Status WriteRow(const TablePlan& plan, const RowChange& change) = 0;
  // The plan's [[after]] rules for `rows`, just written, in order; each parameter bound as the
  // row's value. An error names the rule; the fallback then names the row.
  virtual Status RunAfter(const TablePlan& plan, const std::vector<WrittenRow>& rows) = 0;
  // For a [[split]] source table: the part (index into route.tables) of each row image, by
  // the parts' `when` evaluated on the target in one round trip per batch (MySQL: per
  // statement of bounded size). `parts`: the parts' plans, whose columns type the parameters.
  virtual Status RouteRows(const SplitRoute& route, const std::vector<const TablePlan*>& parts,
                           const std::vector<const Tuple*>& images, std::vector<int>* out) = 0;
  // For `copy`: inserts `rows` (source images) into the plan's table by the engine's bulk
  // load, in the open transaction; only for plans without rules, into rows the table lacks.
  // Engines without one say so (CanCopyRows) and get the set-based writes.
  virtual bool CanCopyRows() const { return false; }
  virtual Status CopyRows(const TablePlan& /*plan*/, const std::vector<const Tuple*>& /*rows*/) {
    return Status::Error("no bulk load on this target");
  }
  // For `copy` between PostgreSQL servers: rows as the source's COPY wrote them, one field per
  // source column in order, into the plan's table, in the open transaction.
  virtual Status CopyRaw(const TablePlan& /*plan*/, const RawRows& /*rows*/) {
    return Status::Error("no bulk load on this target");
  }
  // Empties `tables` inside the open transaction.
  virtual Status Truncate(const std::vector<TargetTable>& tables, const TruncateChange& t) = 0;

  // In the open transaction: the stream's new checkpoint.
  virtual Status WriteCheckpoint(const std::string& stream, const Checkpoint& c) = 0;
  // In the open transaction: a Kafka batch's partition positions for consumer group `group`,
  // and its `events` and newest source commit time (0: none) added to stream's checkpoint.
  virtual Status WriteKafkaPositions(const std::string& stream, const std::string& group,
                                     const std::vector<KafkaPosition>& positions, uint64_t events,
                                     TimestampUs newest) = 0;
  virtual Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) = 0;

  // `copy`'s bookkeeping. Read outside a transaction; the writes in the open one: a fresh
  // copy's state and plan (replacing any earlier one), a range's completion, the end.
  virtual Status ReadCopyState(const std::string& stream, CopyState* out) = 0;
  virtual Status WriteCopyStart(const std::string& stream, const CopyState& state) = 0;
  virtual Status WriteCopyRangeDone(const std::string& stream, const CopyRange& range) = 0;
  virtual Status WriteCopyFinished(const std::string& stream) = 0;
  // `copy --rebuild-indexes`: the secondary indexes, unique constraints and foreign keys of
  // `table` and the foreign keys referencing it (outside a transaction; `keep_unique`: unique
  // indexes stay), each with its drop and create SQL; their record (in the open transaction),
  // one's re-creation, and whether the target has one now.
  virtual Status ReadSecondaryIndexes(const TargetTable& table, bool keep_unique,
                                      std::vector<CopyIndex>* out) = 0;
  virtual Status WriteCopyIndexes(const std::string& stream,
                                  const std::vector<CopyIndex>& indexes) = 0;
  virtual Status WriteCopyIndexRebuilt(const std::string& stream, int seq) = 0;
  virtual Status IndexExists(const CopyIndex& index, bool* out) = 0;
  // A statement outside any transaction (`copy --create-tables`' DDL).
  virtual Status RunDdl(const std::string& sql) = 0;
  // MySQL: whether the server has database `name` (PostgreSQL targets: always).
  virtual Status DatabaseExists(const std::string& /*name*/, bool* out) {
    *out = true;
    return Status::Ok();
  }
  // Whether `table` holds any row (outside a transaction).
  virtual Status HasRows(const TargetTable& table, bool* out) = 0;

  // Durability, for acknowledging the source: after the group ending at `applied`
  // committed, and between groups (`force`: make the target flush now). `durable` is moved
  // up to the end of the newest group the target has made durable. By default a commit is
  // durable when it returns (InnoDB with innodb_flush_log_at_trx_commit = 1, the default).
  virtual Status Committed(Lsn applied, Lsn* durable) {
    *durable = applied;
    return Status::Ok();
  }
  virtual Status Durable(bool /*force*/, Lsn* /*durable*/) { return Status::Ok(); }
  // Commits are waiting to be made durable (the applier then checks more often).
  virtual bool AwaitingDurability() const { return false; }
};

// The engines' sessions, connected and set up for applying (target.kind picks one).
Status OpenPostgresSession(const Config& config, std::unique_ptr<TargetSession>* out);
// `for_copy`: MySQL sessions bulk-load copied rows (LOAD DATA LOCAL; see CanCopyRows).
Status OpenMysqlSession(const Config& config, std::unique_ptr<TargetSession>* out,
                        bool for_copy = false);

}  // namespace stagesync::apply
