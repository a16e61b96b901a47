// The MySQL/MariaDB applier: groups source transactions into target transactions, writes
// each table's coalesced rows as multi-row upserts and grouped deletes, and commits the
// applied position with the data.
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include "batch.h"
#include "mysql_statements.h"
#include "mysql_target.h"
#include "stagesync/apply.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"
#include "table_plan.h"

namespace stagesync::apply {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunkRows = 5000;                     // rows per flush at most
constexpr size_t kStatementBytes = 4u * 1024u * 1024u;  // under max_allowed_packet's default

bool IsHeartbeat(const SourceRelation& rel) {
  return rel.schema == "stagesync" && rel.name == "heartbeat";
}

class MysqlApplier : public Applier {
 public:
  explicit MysqlApplier(const Config& config) : config_(config) {}

  Lsn resume_position() const override { return applied_; }
  ApplyProgress& progress() override { return progress_; }

  Status Open() {
    try {
      conn_ = mysql::Connect(config_.target);
      mysql::Endpoint e;
      if (mysql::ParseDsn(config_.target, &e).ok()) database_ = e.database;
      // Strict: a value MySQL would have to truncate or zero is an error, never a silent
      // change. No foreign key checks: order between tables inside a group cannot fail.
      mysql::Exec(*conn_,
                  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,"
                  "NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO', foreign_key_checks = 0, "
                  "time_zone = '+00:00'");
      conn_->setAutoCommit(false);
      stmt_.reset(conn_->createStatement());
      auto rows = mysql::Query(*conn_,
                               "SELECT lsn, events_applied, transactions_applied, "
                               "CAST(UNIX_TIMESTAMP(commit_time) * 1000000 AS SIGNED) FROM "
                               "stagesync.applied_position WHERE stream = " +
                                   mysql::QuoteLiteral(config_.source.slot));
      if (rows.empty()) {
        return Status::Usage("target has no applied position for stream " + config_.source.slot +
                             ": run `stagesync setup` with this config first");
      }
      applied_ = std::stoull(rows[0][0]);
      events_total_ = std::stoull(rows[0][1]);
      txns_total_ = std::stoull(rows[0][2]);
      progress_.durable = applied_;
      progress_.events_applied = events_total_;
      progress_.transactions_applied = txns_total_;
      if (!rows[0][3].empty()) progress_.applied_commit_time = std::stoll(rows[0][3]);
      for (auto& r : mysql::Query(*conn_,
                                  "SELECT table_name, column_name FROM stagesync.source_columns "
                                  "WHERE stream = " +
                                      mysql::QuoteLiteral(config_.source.slot))) {
        known_[r[0]].insert(r[1]);
      }
      conn_->commit();
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() == 1146 || e.getErrorCode() == 1049) {
        return Status::Usage("target: " + mysql::Describe(e) +
                             " (did `stagesync setup` run with this config?)");
      }
      return Status::Transient("target: " + mysql::Describe(e));
    }
    return Status::Ok();
  }

  Status Run(EventQueue& queue) override {
    while (true) {
      auto wait = std::chrono::milliseconds(200);
      if (open_ && !in_txn_) {
        auto left =
            config_.apply.batch_delay -
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - group_start_);
        wait = std::max(std::chrono::milliseconds(0), std::min(wait, left));
      }
      auto batch = queue.Pop(wait);
      if (!batch) {
        if (open_ && !in_txn_) {
          if (Status s = CommitGroup(); !s.ok()) return Abandon(s);
        }
        if (queue.closed_and_empty()) break;
        continue;
      }
      for (ChangeEvent& ev : *batch) {
        Status s;
        if (auto* row = std::get_if<RowChange>(&ev)) {
          s = OnRow(*row);
        } else if (auto* b = std::get_if<TxnBegin>(&ev)) {
          OnBegin(*b);
        } else if (auto* c = std::get_if<TxnCommit>(&ev)) {
          OnCommit(*c);
          bool full = group_rows_ >= config_.apply.batch_rows ||
                      Clock::now() - group_start_ >= config_.apply.batch_delay;
          if (open_ && full) s = CommitGroup();
        } else if (auto* t = std::get_if<TruncateChange>(&ev)) {
          s = OnTruncate(*t);
        }
        if (!s.ok()) return Abandon(s);
      }
      if (open_ && !in_txn_ && queue.empty()) {
        if (Status s = CommitGroup(); !s.ok()) return Abandon(s);
      }
    }
    if (in_txn_ && open_) {
      LOG_INFO(
          "apply: stopping inside a source transaction; its group is rolled back and "
          "will be re-sent");
      Abandon(Status::Ok());
    }
    return Status::Ok();
  }

 private:
  Status Abandon(Status why) {
    try {
      if (open_) conn_->rollback();
    } catch (...) {
    }
    open_ = false;
    raw_.clear();
    for (auto& [id, batch] : batches_) batch.Clear();
    group_events_ = group_txns_ = group_rows_ = 0;
    progress_.pending_since = 0;
    return why;
  }

  Status SqlError(const std::string& what, const sql::SQLException& e) {
    if (mysql::IsConnectionLost(e))
      return Status::Transient("target connection lost: " + mysql::Describe(e));
    return Status::Error(what + ": " + mysql::Describe(e));
  }

  void Exec(const std::string& sql) { stmt_->execute(sql); }
  uint64_t ExecCount(const std::string& sql) {
    return static_cast<uint64_t>(stmt_->executeUpdate(sql));
  }

  void OnBegin(const TxnBegin& b) {
    in_txn_ = true;
    txn_has_data_ = false;
    skipping_ = b.final_lsn < applied_;
    if (skipping_) return;
    if (!open_) {
      open_ = true;
      group_start_ = Clock::now();
    }
    if (progress_.pending_since == 0) progress_.pending_since = b.commit_time;
  }

  void OnCommit(const TxnCommit& c) {
    in_txn_ = false;
    if (skipping_) {
      skipping_ = false;
      return;
    }
    group_end_ = c.end_lsn;
    group_commit_time_ = c.commit_time;
    if (txn_has_data_) group_txns_++;
  }

  Status PlanFor(const RelationPtr& rel, TablePlan** out) {
    if (auto it = plans_.find(rel.get()); it != plans_.end()) {
      *out = it->second.get();
      return Status::Ok();
    }
    if (Status s = FlushAll(); !s.ok()) return s;
    auto [schema, name] = MappedTargetName(config_, rel->schema, rel->name);
    std::optional<TargetTable> target;
    try {
      target = LoadMysqlTargetTable(*conn_, schema, name, database_);
    } catch (const sql::SQLException& e) {
      return SqlError("reading the target catalog", e);
    }
    if (!target) {
      return Status::Error("source table " + rel->QualifiedName() + " has no target table " +
                           schema + "." + name +
                           ": create it on the target or map it in [mapping]");
    }
    auto plan = std::make_unique<TablePlan>();
    std::vector<std::string> warnings;
    if (Status s =
            BuildTablePlan(config_, rel, *target, known_, next_plan_id_++, plan.get(), &warnings);
        !s.ok())
      return s;
    for (const auto& w : warnings) {
      if (warned_.insert(w).second) LOG_WARN("apply: " << w);
    }
    for (auto it = plans_.begin(); it != plans_.end();) {
      if (it->first->id == rel->id && it->first->QualifiedName() == rel->QualifiedName()) {
        batches_.erase(it->second->id);
        it = plans_.erase(it);
      } else {
        ++it;
      }
    }
    *out = plan.get();
    plans_.emplace(rel.get(), std::move(plan));
    return Status::Ok();
  }

  Status RowError(const RowChange& c, const std::string& message) {
    auto it = plans_.find(c.relation.get());
    std::string key = it != plans_.end() ? DescribeKey(*it->second, c) : "";
    std::string target = it != plans_.end() ? it->second->TargetName() : "?";
    return Status::Error("apply of " + std::string(OpName(c.op)) + " on " +
                         c.relation->QualifiedName() + " key " + key + " at " +
                         DescribePosition(config_.source.kind, c.lsn) + " into " + target +
                         " failed: " + message +
                         ". Nothing after the last applied position was committed; fix the "
                         "target and restart `stagesync run`.");
  }

  Status ExecSingle(const TablePlan& plan, const RowChange& c) {
    std::string sql, fallback;
    if (Status s = MysqlSingle(plan, c, &sql, &fallback); !s.ok()) return RowError(c, s.message());
    try {
      uint64_t n = ExecCount(sql);
      if (n == 0 && !fallback.empty()) Exec(fallback);
    } catch (const sql::SQLException& e) {
      if (mysql::IsConnectionLost(e)) return SqlError("target", e);
      return RowError(c, mysql::Describe(e));
    }
    return Status::Ok();
  }

  // Writes one table's coalesced rows: deletes first, then upserts grouped by which
  // columns the images carry, in statements of bounded size.
  Status FlushTable(const TableBatch& batch) {
    const TablePlan& plan = *batch.plan();
    const size_t width = plan.relation->columns.size();
    std::vector<const Tuple*> deletes;
    std::map<std::vector<bool>, std::vector<const Tuple*>> upserts;
    for (const PendingRow& r : batch.rows()) {
      if (r.state == PendingRow::State::kDelete || r.state == PendingRow::State::kDeleteInsert)
        deletes.push_back(&r.key);
      if (r.state != PendingRow::State::kDelete)
        upserts[PresentColumns(r.image, width)].push_back(&r.image);
    }
    auto chunks = [&](const std::vector<const Tuple*>& rows, auto build) -> Status {
      size_t per = std::max<size_t>(1, rows.size());
      for (size_t at = 0; at < rows.size();) {
        size_t n = std::min(per, rows.size() - at);
        std::vector<const Tuple*> part(rows.begin() + at, rows.begin() + at + n);
        std::string sql;
        if (Status s = build(part, &sql); !s.ok()) return s;
        if (sql.size() > kStatementBytes && n > 1) {
          per = std::max<size_t>(1, n / 2);  // too big: halve and try again
          continue;
        }
        Exec(sql);
        at += n;
      }
      return Status::Ok();
    };
    if (!deletes.empty()) {
      Status s = chunks(deletes, [&](const std::vector<const Tuple*>& part, std::string* sql) {
        return MysqlDeleteByKeys(plan, part, sql);
      });
      if (!s.ok()) return s;
    }
    for (const auto& [present, images] : upserts) {
      Status s = chunks(images, [&](const std::vector<const Tuple*>& part, std::string* sql) {
        return MysqlUpsert(plan, part, present, sql);
      });
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status FlushAll() {
    if (raw_.empty()) return Status::Ok();
    Status failed;
    try {
      Exec("SAVEPOINT stagesync_batch");
      for (auto& [id, batch] : batches_) {
        if (batch.empty()) continue;
        if (Status s = FlushTable(batch); !s.ok()) {
          failed = s;
          break;
        }
      }
      if (failed.ok()) Exec("RELEASE SAVEPOINT stagesync_batch");
    } catch (const sql::SQLException& e) {
      if (mysql::IsConnectionLost(e)) return SqlError("target", e);
      failed = Status::Error(mysql::Describe(e));
    }
    if (!failed.ok()) {
      // Replay the same changes one by one, exactly as the source made them, so the error
      // (if it stays) names the row.
      LOG_DEBUG("apply: batch failed (" << failed.message() << "); replaying row by row");
      try {
        Exec("ROLLBACK TO SAVEPOINT stagesync_batch");
      } catch (const sql::SQLException& e) {
        return SqlError("target", e);
      }
      for (const RowChange& c : raw_) {
        if (Status s = ExecSingle(*plans_.at(c.relation.get()), c); !s.ok()) return s;
      }
    }
    for (auto& [id, batch] : batches_) batch.Clear();
    raw_.clear();
    return Status::Ok();
  }

  Status OnRow(RowChange& c) {
    if (skipping_ || IsHeartbeat(*c.relation)) return Status::Ok();
    TablePlan* plan = nullptr;
    if (Status s = PlanFor(c.relation, &plan); !s.ok()) return s;
    txn_has_data_ = true;
    group_events_++;
    group_rows_++;
    if (plan->keyless || MovesKey(*plan, c)) {
      if (Status s = FlushAll(); !s.ok()) return s;
      return ExecSingle(*plan, c);
    }
    batches_.try_emplace(plan->id, plan).first->second.Add(c);
    raw_.push_back(std::move(c));
    if (raw_.size() >= kChunkRows) return FlushAll();
    return Status::Ok();
  }

  Status OnTruncate(const TruncateChange& t) {
    if (skipping_) return Status::Ok();
    if (Status s = FlushAll(); !s.ok()) return s;
    for (const auto& rel : t.relations) {
      if (IsHeartbeat(*rel)) continue;
      auto [schema, name] = MappedTargetName(config_, rel->schema, rel->name);
      try {
        auto target = LoadMysqlTargetTable(*conn_, schema, name, database_);
        if (!target) {
          return Status::Error("TRUNCATE of " + rel->QualifiedName() + " at " +
                               DescribePosition(config_.source.kind, t.lsn) + ": no target table " +
                               schema + "." + name);
        }
        // TRUNCATE would commit implicitly in MySQL: DELETE keeps it inside the group.
        Exec("DELETE FROM " + mysql::QualifiedIdent(target->schema, target->name));
      } catch (const sql::SQLException& e) {
        return SqlError("apply of TRUNCATE " + rel->QualifiedName(), e);
      }
      txn_has_data_ = true;
      group_events_++;
    }
    return Status::Ok();
  }

  Status CommitGroup() {
    if (!open_) return Status::Ok();
    auto started = Clock::now();
    if (Status s = FlushAll(); !s.ok()) return s;
    try {
      if (group_end_ > applied_) {
        char commit_time[48] = "NULL";
        if (group_commit_time_ > 0) {
          std::snprintf(commit_time, sizeof commit_time, "FROM_UNIXTIME(%lld.%06lld)",
                        static_cast<long long>(group_commit_time_ / 1000000),
                        static_cast<long long>(group_commit_time_ % 1000000));
        }
        Exec("UPDATE stagesync.applied_position SET lsn = " + std::to_string(group_end_) +
             ", commit_time = " + commit_time +
             ", events_applied = " + std::to_string(events_total_ + group_events_) +
             ", transactions_applied = " + std::to_string(txns_total_ + group_txns_) +
             ", updated_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(config_.source.slot));
      }
      conn_->commit();
    } catch (const sql::SQLException& e) {
      open_ = false;
      if (mysql::IsConnectionLost(e)) {
        return Status::Transient("target connection lost at commit: " + mysql::Describe(e));
      }
      return Status::Error("commit on the target failed: " + mysql::Describe(e));
    }
    open_ = false;
    if (group_end_ > applied_) applied_ = group_end_;
    events_total_ += group_events_;
    txns_total_ += group_txns_;
    // InnoDB's commit is durable (innodb_flush_log_at_trx_commit = 1, the default).
    progress_.durable = applied_;
    progress_.applied_commit_time = group_commit_time_;
    progress_.events_applied = events_total_;
    progress_.transactions_applied = txns_total_;
    progress_.batches++;
    progress_.last_batch_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
    progress_.pending_since = 0;
    group_events_ = group_txns_ = group_rows_ = 0;
    return Status::Ok();
  }

  const Config& config_;
  std::unique_ptr<sql::Connection> conn_;
  std::unique_ptr<sql::Statement> stmt_;
  std::string database_;
  ApplyProgress progress_;
  Lsn applied_ = 0;
  uint64_t events_total_ = 0, txns_total_ = 0;
  KnownSourceColumns known_;
  std::unordered_map<const SourceRelation*, std::unique_ptr<TablePlan>> plans_;
  std::map<int, TableBatch> batches_;
  std::vector<RowChange> raw_;
  std::set<std::string> warned_;
  int next_plan_id_ = 1;
  bool open_ = false, in_txn_ = false, skipping_ = false, txn_has_data_ = false;
  Lsn group_end_ = 0;
  TimestampUs group_commit_time_ = 0;
  uint64_t group_events_ = 0, group_txns_ = 0;
  size_t group_rows_ = 0;
  Clock::time_point group_start_;
};

}  // namespace

Status OpenMysqlApplier(const Config& config, std::unique_ptr<Applier>* out) {
  auto applier = std::make_unique<MysqlApplier>(config);
  if (Status s = applier->Open(); !s.ok()) return s;
  *out = std::move(applier);
  return Status::Ok();
}

}  // namespace stagesync::apply
