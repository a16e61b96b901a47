// The MySQL/MariaDB target session: multi-row upserts and grouped deletes in statements under
// max_allowed_packet, strict SQL mode, and InnoDB's durable commits.
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "mysql_statements.h"
#include "mysql_target.h"
#include "secondary_indexes.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"
#include "target_session.h"

namespace stagesync::apply {
namespace {

constexpr size_t kStatementBytes = 4u * 1024u * 1024u;  // under max_allowed_packet's default
constexpr size_t kCountKeys = 1000;                     // keys per existence count

Status FromException(const sql::SQLException& e, const std::string& prefix = "") {
  if (mysql::IsConnectionLost(e))
    return Status::Transient("target connection lost: " + mysql::Describe(e));
  return Status::Error(prefix + mysql::Describe(e));
}

std::string Microseconds(TimestampUs t) {
  char out[48];
  std::snprintf(out, sizeof out, "FROM_UNIXTIME(%lld.%06lld)", static_cast<long long>(t / 1000000),
                static_cast<long long>(t % 1000000));
  return out;
}

class MysqlSession : public TargetSession {
 public:
  MysqlSession(const Config& config, bool for_copy) : config_(config), bulk_load_(for_copy) {}
  ~MysqlSession() override {
    if (!load_dir_.empty()) {
      std::remove(LoadFile().c_str());
      rmdir(load_dir_.c_str());
    }
  }

  Status Connect() {
    try {
      conn_ = mysql::Connect(config_.target, bulk_load_);
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
      auto version = mysql::Query(*conn_, "SELECT VERSION()");
      mariadb_ = !version.empty() && version[0][0].find("MariaDB") != std::string::npos;
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() == 1049) {
        return Status::Usage("target: " + mysql::Describe(e) +
                             " (did `stagesync setup` run with this config?)");
      }
      return Status::Transient("target: " + mysql::Describe(e));
    }
    return Status::Ok();
  }

  Status ReadCheckpoint(const std::string& stream, Checkpoint* out,
                        KnownSourceColumns* known) override {
    try {
      auto rows = mysql::Query(*conn_,
                               "SELECT lsn, events_applied, transactions_applied, "
                               "CAST(UNIX_TIMESTAMP(commit_time) * 1000000 AS SIGNED) FROM "
                               "stagesync.applied_position WHERE stream = " +
                                   mysql::QuoteLiteral(stream));
      if (rows.empty()) {
        return Status::Usage("target has no applied position for stream " + stream +
                             ": run `stagesync setup` with this config first");
      }
      out->lsn = std::stoull(rows[0][0]);
      out->events = std::stoull(rows[0][1]);
      out->transactions = std::stoull(rows[0][2]);
      if (!rows[0][3].empty()) out->commit_time = std::stoll(rows[0][3]);
      for (auto& r : mysql::Query(*conn_,
                                  "SELECT table_name, column_name FROM stagesync.source_columns "
                                  "WHERE stream = " +
                                      mysql::QuoteLiteral(stream))) {
        (*known)[r[0]].insert(r[1]);
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

  // autocommit is off: the transaction begins with its first statement.
  Status Begin() override {
    open_ = true;
    return Status::Ok();
  }
  Status Savepoint() override { return Exec("SAVEPOINT stagesync_batch"); }
  Status RollbackToSavepoint() override { return Exec("ROLLBACK TO SAVEPOINT stagesync_batch"); }
  Status ReleaseSavepoint() override { return Exec("RELEASE SAVEPOINT stagesync_batch"); }
  Status Commit() override {
    open_ = false;
    try {
      conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e);
    }
    return Status::Ok();
  }
  void Rollback() override {
    open_ = false;
    try {
      conn_->rollback();
    } catch (...) {
      // The connection is gone: the server rolled back.
    }
  }

  Status LoadTable(const std::string& schema, const std::string& name,
                   std::optional<TargetTable>* out) override {
    try {
      *out = LoadMysqlTargetTable(*conn_, schema, name, database_);
    } catch (const sql::SQLException& e) {
      return FromException(e, "reading the target catalog: ");
    }
    return Status::Ok();
  }

  Status WriteRow(const TablePlan& plan, const RowChange& c) override {
    std::string sql, fallback;
    if (Status s = MysqlSingle(plan, c, &sql, &fallback); !s.ok()) return s;
    try {
      uint64_t n = static_cast<uint64_t>(stmt_->executeUpdate(sql));
      if (n == 0 && !fallback.empty()) stmt_->execute(fallback);
      const size_t width = plan.relation->columns.size();
      std::string unsent = c.op == RowOp::kUpdate && !plan.keyless
                               ? UnsentColumns(plan, PresentColumns(c.new_tuple, width))
                               : "";
      if (n == 0 && !unsent.empty()) {
        // No row changed: a missing row, or one that already held these values.
        Tuple key = KeyOf(plan, c);
        uint64_t found = 0;
        if (Status s = CountRows(plan, {&key}, &found); !s.ok()) return s;
        if (found == 0) return Status::Error(IncompleteRowMessage(plan, unsent));
      }
    } catch (const sql::SQLException& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  // Deletes first, then upserts grouped by which columns the images carry, in statements of
  // bounded size.
  Status WriteBatch(const TableBatch& batch) override {
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
    try {
      if (!deletes.empty()) {
        Status s = Chunks(deletes, [&](const std::vector<const Tuple*>& part, std::string* sql) {
          return MysqlDeleteByKeys(plan, part, sql);
        });
        if (!s.ok()) return s;
      }
      for (const auto& [present, images] : upserts) {
        // Images without some columns (unchanged TOAST) may only update rows the target has:
        // an upsert would insert a missing one with those columns made up.
        if (std::string unsent = UnsentColumns(plan, present); !unsent.empty() && !plan.keyless) {
          uint64_t found = 0;
          if (Status s = CountRows(plan, upsert_keys[present], &found); !s.ok()) return s;
          if (found < images.size()) return Status::Error(IncompleteRowMessage(plan, unsent));
        }
        Status s = Chunks(images, [&](const std::vector<const Tuple*>& part, std::string* sql) {
          return MysqlUpsert(plan, part, present, sql);
        });
        if (!s.ok()) return s;
      }
    } catch (const sql::SQLException& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  // Statement by statement: the connection does not run several in one request.
  Status RunAfter(const TablePlan& plan, const std::vector<WrittenRow>& rows) override {
    std::vector<std::vector<std::string>> per_rule;
    LiteralOf literal = [&](const Value& v, const TargetColumn* c, std::string* out) {
      if (c) return MysqlLiteral(*c, v, out);
      *out = v.is_null() ? std::string("NULL") : mysql::QuoteLiteral(v.text);
      return Status::Ok();
    };
    if (Status s = AfterStatements(plan, rows, literal, &per_rule); !s.ok()) return s;
    for (size_t r = 0; r < per_rule.size(); ++r) {
      // MariaDB runs a compound statement (BEGIN NOT ATOMIC ... END) in one round trip: the
      // rule's statements for a whole batch, in blocks of bounded size. MySQL: one by one.
      std::string block;
      auto run = [&](const std::string& sql) -> Status {
        try {
          stmt_->execute(sql);
        } catch (const sql::SQLException& e) {
          if (mysql::IsConnectionLost(e)) return FromException(e);
          return AfterError(plan, plan.after[r], mysql::Describe(e));
        }
        return Status::Ok();
      };
      for (const auto& statement : per_rule[r]) {
        if (!mariadb_) {
          if (Status s = run(statement); !s.ok()) return s;
          continue;
        }
        block += statement + ";\n";
        if (block.size() >= kStatementBytes) {
          if (Status s = run("BEGIN NOT ATOMIC\n" + block + "END"); !s.ok()) return s;
          block.clear();
        }
      }
      if (!block.empty()) {
        if (Status s = run("BEGIN NOT ATOMIC\n" + block + "END"); !s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  // SELECT ord, CASE ... UNION ALL ..., in statements of bounded size.
  Status RouteRows(const SplitRoute& route, const std::vector<const TablePlan*>& parts,
                   const std::vector<const Tuple*>& images, std::vector<int>* out) override {
    out->assign(images.size(), 0);
    size_t r = 0;
    while (r < images.size()) {
      std::string sql;
      size_t first = r;
      for (; r < images.size() && sql.size() < kStatementBytes; ++r) {
        std::string failed;
        std::string expr = RouteExpression(route, [&](size_t p, size_t i) {
          int column = route.params[p][i];
          const Value& v = (*images[r])[column];
          std::string lit;
          const TargetColumn* c = RouteColumn(parts, column);
          if (!c) return v.is_null() ? std::string("NULL") : mysql::QuoteLiteral(v.text);
          if (Status s = MysqlLiteral(*c, v, &lit); !s.ok()) failed = s.message();
          return lit;
        });
        if (!failed.empty()) return Status::Error(route.label + ": " + failed);
        sql +=
            (sql.empty() ? "SELECT " : " UNION ALL SELECT ") + std::to_string(r) + " AS o, " + expr;
      }
      try {
        auto rows = mysql::Query(*conn_, sql + " ORDER BY o");
        if (rows.size() != r - first) return Status::Error(route.label + ": routing lost rows");
        for (auto& row : rows) (*out)[std::stoul(row[0])] = std::stoi(row[1]);
      } catch (const sql::SQLException& e) {
        if (mysql::IsConnectionLost(e)) return FromException(e);
        return Status::Error(route.label +
                             ": its `when` failed on the target: " + mysql::Describe(e));
      }
    }
    return Status::Ok();
  }

  // TRUNCATE would commit implicitly in MySQL: DELETE keeps it inside the group.
  Status Truncate(const std::vector<TargetTable>& tables, const TruncateChange&) override {
    for (const auto& t : tables) {
      if (Status s = Exec("DELETE FROM " + mysql::QualifiedIdent(t.schema, t.name)); !s.ok())
        return s;
    }
    return Status::Ok();
  }

  Status WriteCheckpoint(const std::string& stream, const Checkpoint& c) override {
    return Exec("UPDATE stagesync.applied_position SET lsn = " + std::to_string(c.lsn) +
                ", commit_time = " + (c.commit_time > 0 ? Microseconds(c.commit_time) : "NULL") +
                ", events_applied = " + std::to_string(c.events) +
                ", transactions_applied = " + std::to_string(c.transactions) +
                ", updated_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(stream));
  }

  Status WriteKafkaPositions(const std::string& stream, const std::string& group,
                             const std::vector<KafkaPosition>& positions, uint64_t events,
                             TimestampUs newest) override {
    for (const auto& p : positions) {
      Status s = Exec(
          "INSERT INTO stagesync.kafka_offsets (stream, topic, kafka_partition, next_offset, "
          "last_commit_lsn, lsn, total_order) VALUES (" +
          mysql::QuoteLiteral(group) + ", " + mysql::QuoteLiteral(p.topic) + ", " +
          std::to_string(p.partition) + ", " + std::to_string(p.next_offset) + ", " +
          std::to_string(p.last_commit_lsn) + ", " + std::to_string(p.lsn) + ", " +
          std::to_string(p.total_order) +
          ") ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), last_commit_lsn = "
          "VALUES(last_commit_lsn), lsn = VALUES(lsn), total_order = VALUES(total_order), "
          "updated_at = NOW(6)");
      if (!s.ok()) return s;
    }
    return Exec("UPDATE stagesync.applied_position SET events_applied = events_applied + " +
                std::to_string(events) +
                (newest > 0 ? ", commit_time = " + Microseconds(newest) : std::string()) +
                ", updated_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(stream));
  }

  // Copied rows of a table without rules, by LOAD DATA LOCAL from a file of this session's
  // own (mode 0600 in a 0700 directory, emptied after each load). LOCAL makes the server
  // take bad values and duplicates as warnings: any warning, or a row count short of the
  // rows sent, fails the load, and the applier writes the rows with statements instead,
  // which name a failing one.
  bool CanCopyRows() const override { return bulk_load_; }
  Status CopyRows(const TablePlan& plan, const std::vector<const Tuple*>& rows) override {
    std::string data;
    if (Status s = MysqlLoadData(plan, rows, &data); !s.ok()) return s;
    if (Status s = WriteLoadFile(data); !s.ok()) return s;
    try {
      const uint64_t loaded = stmt_->executeUpdate(MysqlLoadStatement(plan, LoadFile()));
      auto warnings = mysql::Query(*conn_, "SHOW COUNT(*) WARNINGS");
      const std::string count = warnings.empty() ? "?" : warnings[0][0];
      if (loaded != rows.size() || count != "0") {
        return Status::Error("LOAD DATA took " + std::to_string(loaded) + " of " +
                             std::to_string(rows.size()) + " rows with " + count + " warnings");
      }
    } catch (const sql::SQLException& e) {
      // The server (local_infile = OFF) or the client refuses LOCAL: statements from now on.
      if (e.getErrorCode() == 1148 || e.getErrorCode() == 3948 || e.getErrorCode() == 4166 ||
          e.getErrorCode() == 2068) {
        LOG_INFO("copy: the target refuses LOAD DATA LOCAL (" << mysql::Describe(e)
                                                              << "); copying with statements");
        bulk_load_ = false;
      }
      return FromException(e, "target: ");
    }
    std::FILE* f = std::fopen(LoadFile().c_str(), "w");  // the rows do not stay on disk
    if (f) std::fclose(f);
    return Status::Ok();
  }

  Status ReadCopyState(const std::string& stream, CopyState* out) override {
    try {
      *out = CopyState{};
      auto state = mysql::Query(*conn_,
                                "SELECT snapshot, position, holder_pid, finished_at IS NOT NULL "
                                "FROM stagesync.copy_state WHERE stream = " +
                                    mysql::QuoteLiteral(stream));
      if (!state.empty()) {
        out->found = true;
        out->snapshot = state[0][0];
        out->position = std::stoull(state[0][1]);
        out->holder_pid = std::stoll(state[0][2]);
        out->finished = state[0][3] == "1";
        for (auto& r :
             mysql::Query(*conn_,
                          "SELECT table_name, part, parts, lower_bound, upper_bound, "
                          "done_at IS NOT NULL, rows_copied, bytes_copied FROM "
                          "stagesync.copy_ranges WHERE stream = " +
                              mysql::QuoteLiteral(stream) + " ORDER BY table_name, part")) {
          out->ranges.push_back(CopyRange{r[0], std::stoi(r[1]), std::stoi(r[2]), r[3], r[4],
                                          r[5] == "1", std::stoull(r[6]), std::stoull(r[7])});
        }
        for (auto& r : mysql::Query(*conn_,
                                    "SELECT seq, table_schema, table_name, index_name, kind, "
                                    "drop_sql, create_sql, rebuilt_at IS NOT NULL FROM "
                                    "stagesync.copy_indexes WHERE stream = " +
                                        mysql::QuoteLiteral(stream) + " ORDER BY seq")) {
          out->indexes.push_back(
              CopyIndex{std::stoi(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7] == "1"});
        }
      }
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() == 1146) return Status::Ok();  // bookkeeping from before `copy`
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  Status WriteCopyStart(const std::string& stream, const CopyState& state) override {
    const std::string s = mysql::QuoteLiteral(stream);
    for (const char* table : {"stagesync.copy_ranges", "stagesync.copy_indexes"}) {
      if (Status st = Exec(std::string("DELETE FROM ") + table + " WHERE stream = " + s); !st.ok())
        return st;
    }
    if (Status st =
            Exec("REPLACE INTO stagesync.copy_state (stream, snapshot, position, "
                 "holder_pid) VALUES (" +
                 s + ", " + mysql::QuoteLiteral(state.snapshot) + ", " +
                 std::to_string(state.position) + ", " + std::to_string(state.holder_pid) + ")");
        !st.ok()) {
      return st;
    }
    for (const auto& r : state.ranges) {
      Status st = Exec(
          "INSERT INTO stagesync.copy_ranges (stream, table_name, part, parts, lower_bound, "
          "upper_bound) VALUES (" +
          s + ", " + mysql::QuoteLiteral(r.table) + ", " + std::to_string(r.part) + ", " +
          std::to_string(r.parts) + ", " + mysql::QuoteLiteral(r.lower) + ", " +
          mysql::QuoteLiteral(r.upper) + ")");
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status WriteCopyRangeDone(const std::string& stream, const CopyRange& range) override {
    return Exec("UPDATE stagesync.copy_ranges SET rows_copied = " + std::to_string(range.rows) +
                ", bytes_copied = " + std::to_string(range.bytes) +
                ", done_at = NOW(6) WHERE stream = " + mysql::QuoteLiteral(stream) +
                " AND table_name = " + mysql::QuoteLiteral(range.table) +
                " AND part = " + std::to_string(range.part));
  }

  Status ReadSecondaryIndexes(const TargetTable& table, bool keep_unique,
                              std::vector<CopyIndex>* out) override {
    try {
      *out = ReadMysqlIndexes(*conn_, table, keep_unique);
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  Status WriteCopyIndexes(const std::string& stream,
                          const std::vector<CopyIndex>& indexes) override {
    const std::string s = mysql::QuoteLiteral(stream);
    if (Status st = Exec("DELETE FROM stagesync.copy_indexes WHERE stream = " + s); !st.ok())
      return st;
    for (const auto& i : indexes) {
      Status st = Exec(
          "INSERT INTO stagesync.copy_indexes (stream, seq, table_schema, table_name, index_name, "
          "kind, drop_sql, create_sql) VALUES (" +
          s + ", " + std::to_string(i.seq) + ", " + mysql::QuoteLiteral(i.table_schema) + ", " +
          mysql::QuoteLiteral(i.table_name) + ", " + mysql::QuoteLiteral(i.name) + ", " +
          mysql::QuoteLiteral(i.kind) + ", " + mysql::QuoteLiteral(i.drop_sql) + ", " +
          mysql::QuoteLiteral(i.create_sql) + ")");
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status WriteCopyIndexRebuilt(const std::string& stream, int seq) override {
    return Exec("UPDATE stagesync.copy_indexes SET rebuilt_at = NOW(6) WHERE stream = " +
                mysql::QuoteLiteral(stream) + " AND seq = " + std::to_string(seq));
  }

  Status IndexExists(const CopyIndex& index, bool* out) override {
    try {
      *out = MysqlIndexExists(*conn_, index);
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  Status WriteCopyFinished(const std::string& stream) override {
    return Exec("UPDATE stagesync.copy_state SET finished_at = NOW(6) WHERE stream = " +
                mysql::QuoteLiteral(stream));
  }

  Status RunDdl(const std::string& sql) override {
    try {
      mysql::Exec(*conn_, sql);
      conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status DatabaseExists(const std::string& name, bool* out) override {
    try {
      *out =
          !mysql::Query(*conn_, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " +
                                    mysql::QuoteLiteral(name))
               .empty();
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  Status HasRows(const TargetTable& table, bool* out) override {
    try {
      *out = !mysql::Query(*conn_, "SELECT 1 FROM " +
                                       mysql::QualifiedIdent(table.schema, table.name) + " LIMIT 1")
                  .empty();
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) override {
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
      // Ends the read so the next one sees other processes' commits; never inside a group.
      if (!open_) conn_->commit();
    } catch (const sql::SQLException& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

 private:
  Status Exec(const std::string& sql) {
    try {
      stmt_->execute(sql);
    } catch (const sql::SQLException& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  // How many of the rows with these keys the target has.
  Status CountRows(const TablePlan& plan, const std::vector<const Tuple*>& keys, uint64_t* found) {
    *found = 0;
    for (size_t at = 0; at < keys.size(); at += kCountKeys) {
      std::vector<const Tuple*> part(keys.begin() + at,
                                     keys.begin() + std::min(keys.size(), at + kCountKeys));
      std::string count;
      if (Status s = MysqlCountByKeys(plan, part, &count); !s.ok()) return s;
      auto rows = mysql::Query(*conn_, count);
      if (!rows.empty()) *found += std::stoull(rows[0][0]);
    }
    return Status::Ok();
  }

  // Runs the statements `build` makes for `rows`, as many rows per statement as fit.
  template <typename Build>
  Status Chunks(const std::vector<const Tuple*>& rows, Build build) {
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
      stmt_->execute(sql);
      at += n;
    }
    return Status::Ok();
  }

  const Config config_;
  std::unique_ptr<sql::Connection> conn_;
  std::string LoadFile() const { return load_dir_ + "/rows.tsv"; }
  Status WriteLoadFile(const std::string& data) {
    if (load_dir_.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/stagesync-load-XXXXXX";
      if (!mkdtemp(dir.data())) {
        return Status::Error("copy: cannot make a directory for LOAD DATA under " + dir + ": " +
                             std::strerror(errno));
      }
      load_dir_ = dir;
    }
    const int fd = open(LoadFile().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0;
    for (size_t at = 0; ok && at < data.size();) {
      ssize_t n = write(fd, data.data() + at, data.size() - at);
      ok = n > 0;
      at += ok ? static_cast<size_t>(n) : 0;
    }
    if (fd >= 0) close(fd);
    if (!ok) {
      return Status::Error("copy: cannot write " + LoadFile() +
                           " for LOAD DATA: " + std::strerror(errno));
    }
    return Status::Ok();
  }

  std::unique_ptr<sql::Statement> stmt_;
  bool bulk_load_ = false;
  std::string load_dir_;
  bool mariadb_ = false;  // compound statements (BEGIN NOT ATOMIC) run [[after]] rules
  std::string database_;
  bool open_ = false;
};

}  // namespace

Status OpenMysqlSession(const Config& config, std::unique_ptr<TargetSession>* out, bool for_copy) {
  auto session = std::make_unique<MysqlSession>(config, for_copy);
  if (Status s = session->Connect(); !s.ok()) return s;
  *out = std::move(session);
  return Status::Ok();
}

}  // namespace stagesync::apply
