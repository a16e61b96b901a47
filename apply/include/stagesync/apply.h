// apply: replays change events into the target, exactly once and in source commit order.
// The applied position is written in the same target transaction as the data.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/event_queue.h"
#include "stagesync/status.h"
#include "stagesync/table_definition.h"

namespace stagesync::apply {

// The target's bookkeeping schema (applied position, source column snapshot).
inline constexpr const char* kTargetSchema = "stagesync";

// Creates the bookkeeping tables and records which source columns exist now (those may be
// dropped on the way to the target; columns added later must exist on the target).
// Selected tables missing on the target are reported as warnings: staging may be copied
// after setup. Idempotent. PostgreSQL or MySQL/MariaDB, by target.kind.
Status PrepareTarget(const Config& config, const std::vector<TableShape>& source_tables,
                     std::vector<std::string>* warnings);

// The [mapping] column renames of the selected tables must name columns that exist: on the
// source, and on the target where the target table exists already; lists each that does not.
// `setup` runs it before it creates anything; CheckTargetMapping includes it. A target that
// cannot be reached is a usage error naming target.dsn.
Status CheckMappingColumns(const Config& config, const std::vector<TableShape>& source_tables,
                           std::vector<std::string>* problems);

// The [upgrade] rules against the selected source tables: each rename names a source column,
// each drop and split a selected table, each computed column and after-statement a table the
// stream writes. The engines' target checks then check each rule against its target table
// and have the target prepare its SQL.
void CheckUpgradeRules(const Config& config, const std::vector<TableShape>& source_tables,
                       std::vector<std::string>* problems);

// Every selected source table must map onto a target table, and its [mapping] columns onto
// columns that exist; lists each that does not.
Status CheckTargetMapping(const Config& config, const std::vector<TableShape>& source_tables,
                          std::vector<std::string>* problems);

// How a source table lands on the target, for comparing the two (`verify`): the target
// table, the column pairs both have (generated target columns left out), and the source
// columns that feed the target's key. nullopt target: no such table on the target.
struct TableCorrespondence {
  std::string target_schema, target_name;
  std::vector<std::pair<std::string, std::string>> columns;  // (source, target) names
  std::vector<std::string> key;                              // source column names
};
Status ResolveTargetTable(const Config& config, const TableShape& source,
                          std::optional<TableCorrespondence>* out);

// Applies Debezium records from Kafka (written by `stagesync capture` or by Debezium) until
// `stop`: the prefix's topics for the selected tables, offsets kept in the target.
Status RunKafkaApply(const Config& config, const std::atomic<bool>& stop,
                     std::atomic<bool>* up = nullptr);

// What a running applier has committed per source table and operation, and how long its
// target transactions took: for the monitor (Prometheus counters and histogram).
class ApplyMetrics {
 public:
  enum Op { kInsert, kUpdate, kDelete, kTruncate, kOps };
  // Upper bounds (seconds) of the batch-duration histogram's buckets, +Inf left implicit.
  static const std::vector<double>& BatchBuckets();
  struct Snapshot {
    std::map<std::string, std::array<uint64_t, kOps>> tables;  // "schema.table" -> per op
    std::vector<uint64_t> batch_buckets;                       // cumulative, per bound
    uint64_t batch_count = 0;
    double batch_sum_seconds = 0, last_batch_seconds = 0;
  };
  // Counts pending until the target commits them (keyed by relation: no name built per row).
  void Count(const RelationPtr& relation, Op op) {
    auto& entry = pending_[relation.get()];
    if (!entry.first) entry.first = relation;
    entry.second[op]++;
  }
  void Discard() { pending_.clear(); }
  // The target committed: pending counts become applied; one batch of `seconds`.
  void Committed(double seconds);
  Snapshot Read() const;

 private:
  // The applier's thread only.
  std::map<const SourceRelation*, std::pair<RelationPtr, std::array<uint64_t, kOps>>> pending_;
  mutable std::mutex mutex_;
  Snapshot applied_;
};

// Live figures of a running applier, readable from other threads.
struct ApplyProgress {
  std::atomic<Lsn> durable{0};                      // end LSN of the last committed source txn
  std::atomic<TimestampUs> applied_commit_time{0};  // its source commit time
  std::atomic<TimestampUs> pending_since{0};  // commit time of the oldest unapplied txn, 0: none
  std::atomic<uint64_t> events_applied{0};
  std::atomic<uint64_t> transactions_applied{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<int64_t> last_batch_us{0};
  // Shared with the monitor; replace before the applier runs to keep counts across restarts.
  std::shared_ptr<ApplyMetrics> metrics = std::make_shared<ApplyMetrics>();
};

// What `run` drives: the target's applier, fed by capture through the queue.
class Applier {
 public:
  virtual ~Applier() = default;
  // Where the source should resume: the end of the last applied transaction (0: none yet).
  virtual Lsn resume_position() const = 0;
  // Applies events until the queue is closed and drained, or an error. Transactions are
  // grouped (apply.batch_rows, apply.batch_delay) but never split; a transaction the
  // target already has (at or before the applied position) is skipped.
  virtual Status Run(EventQueue& queue) = 0;
  virtual ApplyProgress& progress() = 0;
};

// Connects to the target (target.kind) and reads the applied position.
Status OpenApplier(const Config& config, std::unique_ptr<Applier>* out);

// Where a Kafka partition stands: the next offset to read, and the source position of the
// last record applied from it (last commit LSN, LSN, order in transaction).
struct KafkaPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  Lsn last_commit_lsn = 0;
  Lsn lsn = 0;
  int64_t total_order = 0;
};

// Where apply's consumer group stands on the target, per topic and partition (for `status`).
Status ReadKafkaPositions(const Config& config, std::vector<KafkaPosition>* out);

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
  std::string last_error;  // with live_state "error": why the process stopped
  TimestampUs target_now = 0;
};
Status ReadAppliedPosition(const Config& config, AppliedPosition* out);

// `copy`'s record on the target: the source snapshot it reads, where the stream starts after
// it, and its plan of key ranges with each range's completion (committed with its rows).
struct CopyRange {
  std::string table;  // source "schema.table"
  int part = 0, parts = 1;
  std::string lower, upper;  // bounds as the source reads them ("" = open)
  bool done = false;
  uint64_t rows = 0, bytes = 0;
};
// `copy --rebuild-indexes`: a secondary index, unique constraint or foreign key of a target
// table, dropped before the data and re-created after it; recorded so a resumed copy
// re-creates what is still missing.
struct CopyIndex {
  int seq = 0;  // re-created in this order: indexes and keys, then foreign keys
  std::string table_schema, table_name;  // the target table it belongs to
  std::string name;
  std::string kind;  // "index", "unique constraint", "foreign key", ... as a DBA reads it
  std::string drop_sql, create_sql;
  bool rebuilt = false;
  bool foreign() const { return kind == "foreign key"; }
  std::string Shown() const { return kind + " " + name + " on " + table_schema + "." + table_name; }
};
struct CopyState {
  bool found = false;  // a copy was started on this target
  std::string snapshot;
  Lsn position = 0;        // where the stream starts: the snapshot holds everything before
  int64_t holder_pid = 0;  // PostgreSQL sources: the process that holds the snapshot
  bool finished = false;   // `run` refuses to start until it is
  std::vector<CopyRange> ranges;
  std::vector<CopyIndex> indexes;  // dropped by --rebuild-indexes, in seq order
};
Status ReadCopyState(const Config& config, CopyState* out);

// Rows as PostgreSQL's COPY writes them: text lines each with its newline, or binary tuples
// (without the format's header and trailer).
enum class RawFormat { kNone, kText, kBinary };
struct RawRows {
  RawFormat format = RawFormat::kText;
  std::string data;
  size_t count = 0;
};

// `copy`'s writer, one per worker on a target connection of its own. A range's rows take the
// stream's path (plans, [mapping], the type map, [upgrade] rules, the row-by-row fallback that
// names a failing row), and its completion is committed in the same target transaction.
class CopyWriter {
 public:
  virtual ~CopyWriter() = default;
  // Records a copy afresh: the snapshot and the planned ranges, none done.
  virtual Status Start(const CopyState& state) = 0;
  // The selected tables whose target tables already hold rows, each as "target (source)".
  virtual Status TablesWithRows(const std::vector<RelationPtr>& tables,
                                std::vector<std::string>* out) = 0;
  // `copy --create-tables`: creates the table's target table from `definition` if there is
  // none (`created` says so); what could not be translated stops it (a usage error naming it),
  // what was translated approximately or left out goes to `notes`.
  virtual Status CreateTable(const RelationPtr& table, const TableDefinition& definition,
                             bool* created, std::vector<std::string>* notes) = 0;
  // Whether the table's rows run [[after]] rules: `copy` commits those tables first, since
  // other tables' computed columns may read what the rules write.
  virtual Status RunsAfterRules(const RelationPtr& table, bool* out) = 0;
  // Empties the target tables of `tables` (`copy --truncate`), in one transaction.
  virtual Status Truncate(const std::vector<RelationPtr>& tables) = 0;
  // Inserts of the open range; the target transaction begins with the first.
  virtual Status Write(std::vector<ChangeEvent>& rows) = 0;
  // Between PostgreSQL servers, for a table without rules whose every column lands in one of
  // its own: the rows as the source's COPY wrote them, untouched (the values Write would
  // write, without taking them apart); binary where each column's type is the same built-in
  // type on both sides (`definition` has the source's), else text. A failure leaves the range
  // to Abandon.
  virtual Status TakesRaw(const RelationPtr& table, const TableDefinition& definition,
                          RawFormat* out) = 0;
  virtual Status WriteRaw(const RelationPtr& table, const RawRows& rows) = 0;
  // `copy --rebuild-indexes`: records the secondary indexes, unique constraints and foreign
  // keys of the target tables of `tables` (and the foreign keys that reference them), then
  // drops them; `dropped` lists them in re-creation order. Primary keys stay, and so do unique
  // indexes of tables without one and, with [upgrade] rules, every unique index (a rule's
  // ON CONFLICT or INSERT IGNORE may rely on it).
  // `carried`: an earlier copy's indexes still to re-create, recorded first (a copy started
  // afresh must not forget them).
  virtual Status DropIndexes(const std::vector<RelationPtr>& tables,
                             const std::vector<CopyIndex>& carried,
                             std::vector<CopyIndex>* dropped) = 0;
  // Re-creates a recorded index unless the target has it already, and marks it rebuilt.
  virtual Status RebuildIndex(const CopyIndex& index) = 0;
  // Marks `range` done (with its counts) and commits its rows with the mark.
  virtual Status Done(const CopyRange& range) = 0;
  // Rolls the open range back.
  virtual void Abandon() = 0;
  // Every range is done: the copy is finished and the stream starts at `position`.
  virtual Status Finish(Lsn position) = 0;
};
Status OpenCopyWriter(const Config& config, std::unique_ptr<CopyWriter>* out);

// Records a running process's live view (lag, state) in the bookkeeping row, for `status`.
// Uses its own connection; call from one thread.
class LiveStatusWriter {
 public:
  explicit LiveStatusWriter(const Config& config);
  ~LiveStatusWriter();
  Status Write(double lag_seconds, const std::string& state);
  // The process stops on `error`: `status` says so (state "error") until one starts again.
  Status WriteError(const std::string& error);

 private:
  Status Store(double lag_seconds, const std::string& state, const std::string& error);
  const Config& config_;
  std::unique_ptr<struct LiveStatusConnection> conn_;
};

}  // namespace stagesync::apply
