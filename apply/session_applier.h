// The one applier, whatever the target: plans per source relation, per-key coalesced batches
// written set-based, the exact row-by-row fallback that names a failing row, error reports,
// counts, and the Kafka batch path, over a TargetSession that holds only the engine's SQL.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "batch.h"
#include "grouping.h"
#include "stagesync/apply.h"
#include "table_plan.h"
#include "target_session.h"

namespace stagesync::apply {

// Rows written per set-based round at most, and bytes of changes held before writing: one
// set for every engine (a MySQL statement is also cut to stay under max_allowed_packet).
inline constexpr size_t kChunkRows = 10000;
inline constexpr size_t kChunkBytes = 32u * 1024u * 1024u;

// What `apply` from Kafka needs of a target, besides applying.
class KafkaTarget {
 public:
  virtual ~KafkaTarget() = default;
  // Applies row changes and truncates that came through Kafka in one target transaction,
  // recording `positions` for consumer group `group` in the same transaction.
  virtual Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                            const std::vector<KafkaPosition>& positions) = 0;
  // The positions recorded for `group`.
  virtual Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) = 0;
  // The target column's type for a source column, through [mapping], spelled as PostgreSQL's
  // format_type() (MySQL types are translated), for records without schemas.
  virtual std::optional<std::string> TargetColumnType(const std::string& schema,
                                                      const std::string& table,
                                                      const std::string& column) = 0;
  virtual bool TargetTableExists(const std::string& schema, const std::string& table) = 0;
};

// Connects the Kafka side of apply to the target (target.kind), creating its bookkeeping.
Status OpenKafkaTarget(const Config& config, std::unique_ptr<KafkaTarget>* out);
class SessionApplier : public TransactionGrouping {
 public:
  SessionApplier(const Config& config, std::unique_ptr<TargetSession> session);
  // Reads the checkpoint: where to resume, and the counts so far.
  Status Open();
  // Applies the queue's events until it is closed and drained, or an error (see Drive).
  Status Run(EventQueue& queue);

  // One target transaction for records that came through Kafka, with their positions.
  Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                    const std::vector<KafkaPosition>& positions);
  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out);
  // For `copy`: rows (inserts, truncates) written through the plans in the open target
  // transaction, opened if needed; then the transaction committed after `mark` wrote its
  // bookkeeping in it (`what` names it in an error). Also the Kafka batch's commit.
  Status WriteRows(std::vector<ChangeEvent>& events);
  Status CommitWith(const std::string& what, const std::function<Status()>& mark);
  void Rollback() { Abandon(); }
  // Rows come from `copy`, not the stream: errors say so (and how to resume).
  void SetCopying() { copying_ = true; }
  TargetSession& session() { return *session_; }
  // For `copy` between PostgreSQL servers: whether the relation's rows can go in as the
  // source's COPY rows untouched (no rules; every source column a target column of its own),
  // in which format (see CopyWriter::TakesRaw), and those rows written, in the open target
  // transaction (opened if needed).
  Status TakesRaw(const RelationPtr& relation, const TableDefinition& definition, RawFormat* out);
  Status CopyRaw(const RelationPtr& relation, const RawRows& rows);
  // Whether writing the relation's rows runs [[after]] rules (which other tables' computed
  // columns may read).
  Status HasAfterRules(const RelationPtr& relation, bool* out);
  // The target tables a source table's rows land in (none when dropped; each part of a split),
  // each added to `list` too for messages.
  Status TargetTablesOf(const RelationPtr& relation, std::vector<TargetTable>* out,
                        std::string* list);

  // For schemaless records: the target column a source column lands in, by [mapping].
  std::optional<std::string> TargetColumnType(const std::string& schema, const std::string& table,
                                              const std::string& column);
  bool TargetTableExists(const std::string& schema, const std::string& table);

 private:
  bool GroupOpen() const override { return open_; }
  Status OpenGroup() override;
  Status ApplyRow(RowChange& change) override;
  Status ApplyTruncate(const TruncateChange& truncate) override;
  Status FlushAll() override;
  Status CommitGroup() override;
  void Abandon() override;
  // Durability is checked between groups only: a source transaction can pause mid-way.
  Status Tick(bool final) override;
  std::chrono::milliseconds MaxWait() const override;

  // The plan for a relation; built (and the target table read) when the source announces it.
  Status PlanFor(const RelationPtr& relation, TablePlan** out);
  // Replays the pending changes one by one after the set-based form failed with
  // `batch_error`, so that an error that stays names its row.
  Status ReplayRowByRow(const std::string& batch_error);
  Status WriteRow(const TablePlan& plan, const RowChange& change);
  Status RowError(const RowChange& change, const Status& cause) const;
  Status Queue(TablePlan& plan, RowChange& change, bool append);
  const TargetTable* CachedTable(const std::string& schema, const std::string& table);
  // Whether an [upgrade] [[drop]] rule drops the relation's changes.
  bool Dropped(const SourceRelation& relation);

  // A [[split]] source relation: one plan per part, each over a copy of the relation (so
  // batches, the fallback and messages treat the parts as tables of their own).
  struct Split {
    SplitRoute route;
    std::vector<RelationPtr> parts;
    std::vector<TablePlan*> plans;
  };
  // nullptr when no [[split]] rule names the relation.
  Status SplitFor(const RelationPtr& relation, Split** out);
  // Routes the pending changes of split relations to their parts (one round trip per
  // batch) and queues them: an insert or update into its part and a delete by key into the
  // others, a delete into every part.
  Status RouteSplit();
  Status RunAfter(const TablePlan& plan, const std::vector<WrittenRow>& rows);
  Status CopyRowsInBulk(std::vector<ChangeEvent>& events);

  std::unique_ptr<TargetSession> session_;
  bool open_ = false;
  bool copying_ = false;
  KnownSourceColumns known_;
  std::unordered_map<const SourceRelation*, std::unique_ptr<TablePlan>> plans_;
  std::map<int, TableBatch> batches_;  // by plan id
  std::vector<RowChange> raw_;         // the batched changes in order, for the fallback
  size_t raw_bytes_ = 0;
  // The plan of the newest queued row: rows of tables with rules are written in the order the
  // source made them relative to other tables, since rules read and write other tables.
  const TablePlan* last_queued_ = nullptr;
  std::unordered_map<const SourceRelation*, bool> dropped_;
  std::unordered_map<const SourceRelation*, std::unique_ptr<Split>> splits_;
  std::vector<std::pair<Split*, RowChange>> split_pending_;  // in source order
  std::set<std::string> warned_;
  int next_plan_id_ = 1;
  std::map<std::string, std::optional<TargetTable>> table_cache_;  // schemaless decoding
};

// A new session on the target (target.kind), and the bookkeeping created if it is missing.
Status OpenTargetSession(const Config& config, std::unique_ptr<TargetSession>* out,
                         bool for_copy = false);
Status EnsureBookkeeping(const Config& config);
// A SessionApplier on a new target session (target.kind), its checkpoint read.
Status OpenSessionApplier(const Config& config, std::unique_ptr<SessionApplier>* out,
                          bool for_copy = false);

// The applier as `run` and `apply` drive it.
class SessionApplierHandle : public Applier, public KafkaTarget {
 public:
  explicit SessionApplierHandle(std::unique_ptr<SessionApplier> applier)
      : applier_(std::move(applier)) {}
  Lsn resume_position() const override { return applier_->applied; }
  Status Run(EventQueue& queue) override { return applier_->Run(queue); }
  ApplyProgress& progress() override { return applier_->progress; }
  Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                    const std::vector<KafkaPosition>& positions) override {
    return applier_->ApplyBatch(events, group, positions);
  }
  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) override {
    return applier_->LoadKafkaPositions(group, out);
  }
  std::optional<std::string> TargetColumnType(const std::string& schema, const std::string& table,
                                              const std::string& column) override {
    return applier_->TargetColumnType(schema, table, column);
  }
  bool TargetTableExists(const std::string& schema, const std::string& table) override {
    return applier_->TargetTableExists(schema, table);
  }

 private:
  std::unique_ptr<SessionApplier> applier_;
};

}  // namespace stagesync::apply
