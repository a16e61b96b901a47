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
#include "grouping.h"
#include "mysql_statements.h"
#include "mysql_target.h"
#include "stagesync/apply.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"
#include "table_plan.h"

namespace stagesync::apply {
namespace {

constexpr size_t kChunkRows = 5000;                     // rows per flush at most
constexpr size_t kStatementBytes = 4u * 1024u * 1024u;  // under max_allowed_packet's default

// The MySQL target's side of a grouped apply: plans, batches, statements, commits.
class MysqlWriter : public TransactionGrouping {
 public:
  explicit MysqlWriter(const Config& c) { config = c; }

  Status Open() {
    try {
      conn_ = mysql::Connect(config.target);
      mysql::Endpoint e;
      if (mysql::ParseDsn(config.target, &e).ok()) database_ = e.database;
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
                                   mysql::QuoteLiteral(config.source.slot));
      if (rows.empty()) {
        return Status::Usage("target has no applied position for stream " + config.source.slot +
                             ": run `stagesync setup` with this config first");
      }
      applied = std::stoull(rows[0][0]);
      events_total = std::stoull(rows[0][1]);
      txns_total = std::stoull(rows[0][2]);
      progress.durable = applied;
      progress.events_applied = events_total;
      progress.transactions_applied = txns_total;
      if (!rows[0][3].empty()) progress.applied_commit_time = std::stoll(rows[0][3]);
      for (auto& r : mysql::Query(*conn_,
                                  "SELECT table_name, column_name FROM stagesync.source_columns "
                                  "WHERE stream = " +
                                      mysql::QuoteLiteral(config.source.slot))) {
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

  // One target transaction for records that came through Kafka, with their offsets.
  Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                    const std::vector<KafkaPosition>& positions) {
    TimestampUs newest = 0;
    if (Status s = ApplyKafkaEvents(events, &newest); !s.ok()) return s;
    try {
      const std::string stream = mysql::QuoteLiteral(group);
      for (const auto& p : positions) {
        Exec(
            "INSERT INTO stagesync.kafka_offsets (stream, topic, kafka_partition, next_offset, "
            "last_commit_lsn, lsn, total_order) VALUES (" +
            stream + ", " + mysql::QuoteLiteral(p.topic) + ", " + std::to_string(p.partition) +
            ", " + std::to_string(p.next_offset) + ", " + std::to_string(p.last_commit_lsn) + ", " +
            std::to_string(p.lsn) + ", " + std::to_string(p.total_order) +
            ") ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), last_commit_lsn = "
            "VALUES(last_commit_lsn), lsn = VALUES(lsn), total_order = VALUES(total_order), "
            "updated_at = NOW(6)");
      }
      Exec("UPDATE stagesync.applied_position SET events_applied = events_applied + " +
           std::to_string(group_events) +
           (newest > 0 ? ", commit_time = FROM_UNIXTIME(" + std::to_string(newest / 1000000) + "." +
                             std::to_string(1000000 + newest % 1000000).substr(1) + ")"
                       : std::string()) +
           ", updated_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(config.source.slot));
      conn_->commit();
    } catch (const sql::SQLException& e) {
      Abandon();
      return SqlError("committing a Kafka batch on the target", e);
    }
    open_ = false;
    KafkaBatchCommitted(newest);
    return Status::Ok();
  }

  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) {
    try {
      for (auto& r : mysql::Query(*conn_,
                                  "SELECT topic, kafka_partition, next_offset, last_commit_lsn, "
                                  "lsn, total_order FROM stagesync.kafka_offsets WHERE stream = " +
                                      mysql::QuoteLiteral(group))) {
        KafkaPosition p;
        p.topic = r[0];
        p.partition = std::stoi(r[1]);
        p.next_offset = std::stoll(r[2]);
        p.last_commit_lsn = std::stoull(r[3]);
        p.lsn = std::stoull(r[4]);
        p.total_order = std::stoll(r[5]);
        out->push_back(std::move(p));
      }
      conn_->commit();  // ends the read so the next one sees other processes' commits
    } catch (const sql::SQLException& e) {
      return SqlError("target", e);
    }
    return Status::Ok();
  }

  const TargetTable* Table(const std::string& schema, const std::string& table) {
    auto [tschema, tname] = MappedTargetName(config, schema, table);
    std::string key = tschema + "." + tname;
    auto it = target_cache_.find(key);
    if (it == target_cache_.end()) {
      try {
        it = target_cache_.emplace(key, LoadMysqlTargetTable(*conn_, tschema, tname, database_))
                 .first;
      } catch (const sql::SQLException&) {
        return nullptr;
      }
    }
    return it->second ? &*it->second : nullptr;
  }

  std::optional<std::string> TargetColumnType(const std::string& schema, const std::string& table,
                                              const std::string& column) {
    auto target = Table(schema, table);
    if (!target) return std::nullopt;
    int i = target->FindColumn(MappedColumnName(config, schema + "." + table, column));
    if (i < 0) return std::nullopt;
    // From the cached catalog: schemaless records ask for every column of every record.
    return target->columns[i].decode_type;
  }

  bool TargetTableExists(const std::string& schema, const std::string& table) {
    return Table(schema, table) != nullptr;
  }

 private:
  bool GroupOpen() const override { return open_; }
  void OpenGroup() override { open_ = true; }
  Status ApplyRow(RowChange& c) override { return OnRow(c); }
  Status ApplyTruncate(const TruncateChange& t) override { return OnTruncate(t); }

  void Abandon() override {
    try {
      if (open_) conn_->rollback();
    } catch (...) {
    }
    open_ = false;
    raw_.clear();
    for (auto& [id, batch] : batches_) batch.Clear();
    group_events = group_txns = group_rows = 0;
    progress.pending_since = 0;
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

  Status PlanFor(const RelationPtr& rel, TablePlan** out) {
    if (auto it = plans_.find(rel.get()); it != plans_.end()) {
      *out = it->second.get();
      return Status::Ok();
    }
    if (Status s = FlushAll(); !s.ok()) return s;
    auto [schema, name] = MappedTargetName(config, rel->schema, rel->name);
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
            BuildTablePlan(config, rel, *target, known_, next_plan_id_++, plan.get(), &warnings);
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
                         DescribePosition(config.source.kind, c.lsn) + " into " + target +
                         " failed: " + message +
                         ". Nothing after the last applied position was committed; fix the "
                         "target and start `stagesync " +
                         (config.stream.transport == "kafka" ? "apply" : "run") + "` again.");
  }

  Status ExecSingle(const TablePlan& plan, const RowChange& c) {
    std::string sql, fallback;
    if (Status s = MysqlSingle(plan, c, &sql, &fallback); !s.ok()) return RowError(c, s.message());
    try {
      uint64_t n = ExecCount(sql);
      if (n == 0 && !fallback.empty()) Exec(fallback);
      const size_t width = plan.relation->columns.size();
      std::string unsent = c.op == RowOp::kUpdate && !plan.keyless
                               ? UnsentColumns(plan, PresentColumns(c.new_tuple, width))
                               : "";
      if (n == 0 && !unsent.empty()) {
        // No row changed: a missing row, or one that already held these values.
        Tuple key = KeyOf(plan, c);
        std::string count;
        if (Status s = MysqlCountByKeys(plan, {&key}, &count); !s.ok())
          return RowError(c, s.message());
        auto rows = mysql::Query(*conn_, count);
        if (rows.empty() || rows[0][0] == "0")
          return RowError(c, IncompleteRowMessage(plan, unsent));
      }
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
    std::map<std::vector<bool>, std::vector<const Tuple*>> upserts, upsert_keys;
    for (const PendingRow& r : batch.rows()) {
      if (r.state == PendingRow::State::kDelete || r.state == PendingRow::State::kDeleteInsert)
        deletes.push_back(&r.key);
      if (r.state != PendingRow::State::kDelete) {
        upserts[PresentColumns(r.image, width)].push_back(&r.image);
        upsert_keys[PresentColumns(r.image, width)].push_back(&r.key);
      }
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
      // Images without some columns (unchanged TOAST) may only update rows the target has:
      // an upsert would insert a missing one with those columns made up. The row-by-row
      // replay then names the row.
      if (std::string unsent = UnsentColumns(plan, present); !unsent.empty() && !plan.keyless) {
        const auto& keys = upsert_keys[present];
        uint64_t found = 0;
        for (size_t at = 0; at < keys.size(); at += 1000) {
          std::vector<const Tuple*> part(keys.begin() + at,
                                         keys.begin() + std::min(keys.size(), at + 1000));
          std::string count;
          if (Status s = MysqlCountByKeys(plan, part, &count); !s.ok()) return s;
          auto rows = mysql::Query(*conn_, count);
          if (!rows.empty()) found += std::stoull(rows[0][0]);
        }
        if (found < keys.size()) return Status::Error(IncompleteRowMessage(plan, unsent));
      }
      Status s = chunks(images, [&](const std::vector<const Tuple*>& part, std::string* sql) {
        return MysqlUpsert(plan, part, present, sql);
      });
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status FlushAll() override {
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
    if (skipping || IsHeartbeat(*c.relation)) return Status::Ok();
    TablePlan* plan = nullptr;
    if (Status s = PlanFor(c.relation, &plan); !s.ok()) return s;
    txn_has_data = true;
    group_events++;
    group_rows++;
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
    if (skipping) return Status::Ok();
    if (Status s = FlushAll(); !s.ok()) return s;
    for (const auto& rel : t.relations) {
      if (IsHeartbeat(*rel)) continue;
      auto [schema, name] = MappedTargetName(config, rel->schema, rel->name);
      try {
        auto target = LoadMysqlTargetTable(*conn_, schema, name, database_);
        if (!target) {
          return Status::Error("TRUNCATE of " + rel->QualifiedName() + " at " +
                               DescribePosition(config.source.kind, t.lsn) + ": no target table " +
                               schema + "." + name);
        }
        // TRUNCATE would commit implicitly in MySQL: DELETE keeps it inside the group.
        Exec("DELETE FROM " + mysql::QualifiedIdent(target->schema, target->name));
      } catch (const sql::SQLException& e) {
        return SqlError("apply of TRUNCATE " + rel->QualifiedName(), e);
      }
      txn_has_data = true;
      group_events++;
    }
    return Status::Ok();
  }

  Status CommitGroup() override {
    if (!open_) return Status::Ok();
    auto started = Clock::now();
    if (Status s = FlushAll(); !s.ok()) return s;
    try {
      if (group_end > applied) {
        char commit_time[48] = "NULL";
        if (group_commit_time > 0) {
          std::snprintf(commit_time, sizeof commit_time, "FROM_UNIXTIME(%lld.%06lld)",
                        static_cast<long long>(group_commit_time / 1000000),
                        static_cast<long long>(group_commit_time % 1000000));
        }
        Exec("UPDATE stagesync.applied_position SET lsn = " + std::to_string(group_end) +
             ", commit_time = " + commit_time +
             ", events_applied = " + std::to_string(events_total + group_events) +
             ", transactions_applied = " + std::to_string(txns_total + group_txns) +
             ", updated_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(config.source.slot));
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
    GroupCommitted(started);
    // InnoDB's commit is durable (innodb_flush_log_at_trx_commit = 1, the default).
    progress.durable = applied;
    return Status::Ok();
  }

  std::unique_ptr<sql::Connection> conn_;
  std::unique_ptr<sql::Statement> stmt_;
  std::string database_;
  KnownSourceColumns known_;
  std::unordered_map<const SourceRelation*, std::unique_ptr<TablePlan>> plans_;
  std::map<int, TableBatch> batches_;
  std::vector<RowChange> raw_;
  std::set<std::string> warned_;
  int next_plan_id_ = 1;
  bool open_ = false;
  std::map<std::string, std::optional<TargetTable>> target_cache_;  // for schemaless decoding
};

class MysqlApplier : public Applier, public KafkaTarget {
 public:
  explicit MysqlApplier(std::unique_ptr<MysqlWriter> writer) : writer_(std::move(writer)) {}
  Lsn resume_position() const override { return writer_->applied; }
  ApplyProgress& progress() override { return writer_->progress; }
  Status Run(EventQueue& queue) override { return writer_->Drive(queue); }
  Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                    const std::vector<KafkaPosition>& positions) override {
    return writer_->ApplyBatch(events, group, positions);
  }
  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) override {
    return writer_->LoadKafkaPositions(group, out);
  }
  std::optional<std::string> TargetColumnType(const std::string& schema, const std::string& table,
                                              const std::string& column) override {
    return writer_->TargetColumnType(schema, table, column);
  }
  bool TargetTableExists(const std::string& schema, const std::string& table) override {
    return writer_->TargetTableExists(schema, table);
  }

 private:
  std::unique_ptr<MysqlWriter> writer_;
};

}  // namespace

Status OpenMysqlKafkaTarget(const Config& config, std::unique_ptr<KafkaTarget>* out) {
  try {
    // `apply` may run on a target that `setup` never saw: its bookkeeping comes first.
    auto conn = mysql::Connect(config.target);
    RunMysqlBookkeeping(*conn);
    mysql::Exec(*conn, "INSERT IGNORE INTO stagesync.applied_position (stream) VALUES (" +
                           mysql::QuoteLiteral(config.source.slot) + ")");
  } catch (const sql::SQLException& e) {
    return Status::Transient("target: " + mysql::Describe(e));
  }
  auto writer = std::make_unique<MysqlWriter>(config);
  if (Status s = writer->Open(); !s.ok()) return s;
  *out = std::make_unique<MysqlApplier>(std::move(writer));
  return Status::Ok();
}

Status OpenMysqlApplier(const Config& config, std::unique_ptr<Applier>* out) {
  auto writer = std::make_unique<MysqlWriter>(config);
  if (Status s = writer->Open(); !s.ok()) return s;
  *out = std::make_unique<MysqlApplier>(std::move(writer));
  return Status::Ok();
}

}  // namespace stagesync::apply
