// The PostgreSQL target session: set-based statements over unnest()ed arrays (StatementWriter),
// asynchronous commit with acknowledgements following the target's WAL flush.
#include <algorithm>
#include <deque>

#include "pg_copy_in.h"
#include "secondary_indexes.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"
#include "statement_writer.h"
#include "target_session.h"

namespace stagesync::apply {
namespace {

// What a libpqxx error means for the applier: a lost connection is resumed from the
// checkpoint; anything else is the target's answer.
Status FromException(const std::exception& e, const std::string& prefix = "") {
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return Status::Transient("target connection lost: " + pg::Describe(e));
  }
  return Status::Error(prefix + pg::Describe(e));
}

// Connecting or reading the bookkeeping failed: an SQL error means the target is not set up
// for this config (exit 2); anything else may pass, and is retried.
Status SetupError(const std::exception& e) {
  if (dynamic_cast<const pqxx::sql_error*>(&e)) {
    return Status::Usage("target: " + pg::Describe(e) +
                         " (did `stagesync setup` run with this config?)");
  }
  return Status::Transient("target: " + pg::Describe(e));
}

class PostgresSession : public TargetSession {
 public:
  explicit PostgresSession(const Config& config) : config_(config) {}

  Status Connect() {
    try {
      conn_ = pg::Connect(config_.target, "stagesync-apply");
      writer_ = std::make_unique<StatementWriter>(*conn_);
      pqxx::nontransaction s(*conn_);
      // Like PostgreSQL's apply worker: commit without waiting for the WAL flush, and
      // acknowledge a group to the source only once the target's flushed WAL covers it.
      s.exec0("SET synchronous_commit = off");
      s.exec0("SET statement_timeout = 0");
      s.exec0("SET lock_timeout = 0");
      s.exec0("SET idle_in_transaction_session_timeout = 0");
      // Our statements name every table with its schema; rule SQL finds its tables here.
      s.exec0("SET search_path = " + RuleSearchPath(config_));
      try {
        // No FK/trigger firing, so order between tables inside a batch cannot fail on
        // foreign keys.
        s.exec0("SET session_replication_role = replica");
      } catch (const pqxx::sql_error& e) {
        LOG_WARN("apply: cannot SET session_replication_role = replica ("
                 << pg::Describe(e) << "); foreign keys and triggers on the target will fire. "
                 << "Connect as a superuser to avoid order failures.");
      }
      conn_->prepare("stagesync_checkpoint",
                     "UPDATE stagesync.applied_position SET lsn = $2::pg_lsn, "
                     "commit_time = 'epoch'::timestamptz + $3::int8 * interval '1 microsecond', "
                     "events_applied = $4::int8, transactions_applied = $5::int8, "
                     "updated_at = clock_timestamp() "
                     "WHERE stream = $1");
    } catch (const std::exception& e) {
      return SetupError(e);
    }
    return Status::Ok();
  }

  Status ReadCheckpoint(const std::string& stream, Checkpoint* out,
                        KnownSourceColumns* known) override {
    try {
      pqxx::nontransaction s(*conn_);
      auto row = s.exec_params(
          "SELECT lsn::text, events_applied, transactions_applied, "
          "  (extract(epoch FROM commit_time) * 1e6)::int8 "
          "FROM stagesync.applied_position WHERE stream = $1",
          stream);
      if (row.empty()) {
        return Status::Usage("target has no applied position for stream " + stream +
                             ": run `stagesync setup` with this config first");
      }
      out->lsn = ParseLsn(row[0][0].as<std::string>()).value_or(0);
      out->events = row[0][1].as<uint64_t>();
      out->transactions = row[0][2].as<uint64_t>();
      if (!row[0][3].is_null()) out->commit_time = row[0][3].as<int64_t>();
      for (const auto& r : s.exec_params(
               "SELECT table_name, column_name FROM stagesync.source_columns WHERE stream = $1",
               stream)) {
        (*known)[r[0].as<std::string>()].insert(r[1].as<std::string>());
      }
    } catch (const std::exception& e) {
      return SetupError(e);
    }
    return Status::Ok();
  }

  Status Begin() override {
    return Guard([&] { tx_ = std::make_unique<pqxx::work>(*conn_); });
  }
  // Savepoints by hand: libpqxx 6's subtransaction sends its SAVEPOINT lazily, and not at all
  // when its first statement is a prepared one, so a failure could not be rolled back.
  Status Savepoint() override {
    return Guard([&] { tx_->exec0("SAVEPOINT stagesync_batch"); });
  }
  Status RollbackToSavepoint() override {
    return Guard([&] { tx_->exec0("ROLLBACK TO SAVEPOINT stagesync_batch"); });
  }
  Status ReleaseSavepoint() override {
    return Guard([&] { tx_->exec0("RELEASE SAVEPOINT stagesync_batch"); });
  }
  Status Commit() override {
    Status s = Guard([&] { tx_->commit(); });
    tx_.reset();
    return s;
  }
  void Rollback() override {
    try {
      if (tx_) tx_->abort();
    } catch (...) {
      // The connection is gone or the transaction already ended: nothing to roll back.
    }
    tx_.reset();
  }

  Status LoadTable(const std::string& schema, const std::string& name,
                   std::optional<TargetTable>* out) override {
    return Guard([&] {
      if (tx_) {
        *out = LoadTargetTable(*tx_, schema, name);
      } else {
        pqxx::nontransaction n(*conn_);
        *out = LoadTargetTable(n, schema, name);
      }
      if (*out) {
        for (auto& c : (*out)->columns) c.decode_type = c.type;
      }
    });
  }

  Status WriteBatch(const TableBatch& batch) override {
    try {
      writer_->FlushTable(*tx_, batch);
    } catch (const IncompleteRowError& e) {
      return Status::Error(e.what());
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status WriteRow(const TablePlan& plan, const RowChange& c) override {
    try {
      writer_->ExecSingle(*tx_, plan, c);
    } catch (const IncompleteRowError& e) {
      return Status::Error(e.what());
    } catch (const pqxx::data_exception& e) {
      return Status::Error(pg::Describe(e) + RejectedColumn(plan, c));
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  // A rule's statements for all rows in one round trip (simple query protocol).
  Status RunAfter(const TablePlan& plan, const std::vector<WrittenRow>& rows) override {
    std::vector<std::vector<std::string>> per_rule;
    LiteralOf literal = [&](const Value& v, const TargetColumn* c, std::string* out) {
      std::string lit = v.is_null() ? "NULL" : tx_->quote(v.text);
      *out = c ? "(" + lit + "::" + c->cast_type + ")" : lit;
      return Status::Ok();
    };
    if (Status s = AfterStatements(plan, rows, literal, &per_rule); !s.ok()) return s;
    for (size_t r = 0; r < per_rule.size(); ++r) {
      if (per_rule[r].empty()) continue;
      std::string sql;
      for (const auto& statement : per_rule[r]) sql += statement + ";\n";
      try {
        tx_->exec0(sql);
      } catch (const pqxx::broken_connection& e) {
        return FromException(e);
      } catch (const std::exception& e) {
        return AfterError(plan, plan.after[r], pg::Describe(e));
      }
    }
    return Status::Ok();
  }

  Status RouteRows(const SplitRoute& route, const std::vector<const TablePlan*>& parts,
                   const std::vector<const Tuple*>& images, std::vector<int>* out) override {
    // One text[] per distinct parameter column, cast by the column it feeds.
    std::vector<int> columns;
    for (const auto& part : route.params) {
      for (int c : part) {
        if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
      }
    }
    std::vector<std::string> arrays(columns.size() + 1, "{");
    for (size_t r = 0; r < images.size(); ++r) {
      arrays[0] += (r ? "," : "") + std::to_string(r);
      for (size_t k = 0; k < columns.size(); ++k) {
        if (r) arrays[k + 1] += ',';
        AppendArrayElement(arrays[k + 1], (*images[r])[columns[k]]);
      }
    }
    std::string args = "$1::int[]", names = "ord";
    for (size_t k = 0; k < columns.size(); ++k) {
      args += ", $" + std::to_string(k + 2) + "::text[]";
      names += ", r" + std::to_string(k + 1);
    }
    for (auto& a : arrays) a += '}';
    std::string sql =
        "SELECT " +
        RouteExpression(route,
                        [&](size_t p, size_t i) {
                          size_t k = std::find(columns.begin(), columns.end(), route.params[p][i]) -
                                     columns.begin();
                          const TargetColumn* c = RouteColumn(parts, route.params[p][i]);
                          std::string v = "v.r" + std::to_string(k + 1);
                          return c ? v + "::" + c->cast_type : v;
                        }) +
        " FROM unnest(" + args + ") AS v(" + names + ") ORDER BY v.ord";
    try {
      pqxx::result r = tx_->exec_params(sql, pqxx::prepare::make_dynamic_params(arrays));
      out->clear();
      for (const auto& row : r) out->push_back(row[0].as<int>());
    } catch (const pqxx::broken_connection& e) {
      return FromException(e);
    } catch (const std::exception& e) {
      return Status::Error(route.label + ": its `when` failed on the target: " + pg::Describe(e));
    }
    return Status::Ok();
  }

  bool CanCopyRows() const override { return true; }

  // COPY FROM STDIN in text format: the same input functions the statements' casts reach.
  Status CopyRows(const TablePlan& plan, const std::vector<const Tuple*>& rows) override {
    std::vector<size_t> from;
    for (size_t s = 0; s < plan.source_to_target.size(); ++s) {
      if (plan.source_to_target[s] >= 0) from.push_back(s);
    }
    RawRows text;
    for (const Tuple* row : rows) AppendCopyLine(*row, from, &text.data);
    text.count = rows.size();
    return CopyRaw(plan, text);
  }

  Status CopyRaw(const TablePlan& plan, const RawRows& rows) override {
    std::vector<std::string> columns;
    for (int t : plan.source_to_target) {
      if (t >= 0) columns.push_back(pg::QuoteIdent(plan.target.columns[t].name));
    }
    return CopyIn(*tx_, plan.target.Ident(), columns, rows);
  }

  Status Truncate(const std::vector<TargetTable>& tables, const TruncateChange& t) override {
    std::string list;
    for (const auto& table : tables) list += (list.empty() ? "" : ", ") + table.Ident();
    return Guard([&] {
      tx_->exec0("TRUNCATE " + list + (t.restart_identity ? " RESTART IDENTITY" : "") +
                 (t.cascade ? " CASCADE" : ""));
    });
  }

  Status WriteCheckpoint(const std::string& stream, const Checkpoint& c) override {
    return Guard([&] {
      tx_->exec_prepared("stagesync_checkpoint", stream, FormatLsn(c.lsn), c.commit_time, c.events,
                         c.transactions);
    });
  }

  Status ReadCopyState(const std::string& stream, CopyState* out) override {
    try {
      pqxx::nontransaction q(*conn_);
      auto state = q.exec_params(
          "SELECT snapshot, position::text, holder_pid, finished_at IS NOT NULL "
          "FROM stagesync.copy_state WHERE stream = $1",
          stream);
      *out = CopyState{};
      if (state.empty()) return Status::Ok();
      out->found = true;
      out->snapshot = state[0][0].as<std::string>();
      out->position = std::stoull(state[0][1].as<std::string>());
      out->holder_pid = state[0][2].as<int64_t>();
      out->finished = state[0][3].as<bool>();
      for (const auto& r : q.exec_params(
               "SELECT table_name, part, parts, lower_bound, upper_bound, done_at IS NOT NULL, "
               "rows_copied, bytes_copied FROM stagesync.copy_ranges WHERE stream = $1 "
               "ORDER BY table_name, part",
               stream)) {
        out->ranges.push_back(CopyRange{r[0].as<std::string>(), r[1].as<int>(), r[2].as<int>(),
                                        r[3].as<std::string>(), r[4].as<std::string>(),
                                        r[5].as<bool>(), r[6].as<uint64_t>(), r[7].as<uint64_t>()});
      }
    } catch (const pqxx::undefined_table&) {
      *out = CopyState{};  // bookkeeping from before `copy` existed: no copy was made
      return Status::Ok();
    } catch (const std::exception& e) {
      return FromException(e);
    }
    try {
      pqxx::nontransaction q(*conn_);
      for (const auto& r : q.exec_params(
               "SELECT seq, table_schema, table_name, index_name, kind, drop_sql, create_sql, "
               "rebuilt_at IS NOT NULL FROM stagesync.copy_indexes WHERE stream = $1 ORDER BY seq",
               stream)) {
        out->indexes.push_back(CopyIndex{r[0].as<int>(), r[1].as<std::string>(),
                                         r[2].as<std::string>(), r[3].as<std::string>(),
                                         r[4].as<std::string>(), r[5].as<std::string>(),
                                         r[6].as<std::string>(), r[7].as<bool>()});
      }
    } catch (const pqxx::undefined_table&) {
      // bookkeeping from before --rebuild-indexes: nothing was dropped
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status ReadSecondaryIndexes(const TargetTable& table, bool keep_unique,
                              std::vector<CopyIndex>* out) override {
    try {
      pqxx::nontransaction q(*conn_);
      *out = ReadPostgresIndexes(q, table, keep_unique);
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status WriteCopyIndexes(const std::string& stream,
                          const std::vector<CopyIndex>& indexes) override {
    return Guard([&] {
      tx_->exec_params("DELETE FROM stagesync.copy_indexes WHERE stream = $1", stream);
      for (const auto& i : indexes) {
        tx_->exec_params(
            "INSERT INTO stagesync.copy_indexes (stream, seq, table_schema, table_name, "
            "index_name, kind, drop_sql, create_sql) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            stream, i.seq, i.table_schema, i.table_name, i.name, i.kind, i.drop_sql, i.create_sql);
      }
    });
  }

  Status WriteCopyIndexRebuilt(const std::string& stream, int seq) override {
    return Guard([&] {
      tx_->exec_params(
          "UPDATE stagesync.copy_indexes SET rebuilt_at = clock_timestamp() WHERE stream = $1 "
          "AND seq = $2",
          stream, seq);
    });
  }

  Status IndexExists(const CopyIndex& index, bool* out) override {
    try {
      pqxx::nontransaction q(*conn_);
      *out = PostgresIndexExists(q, index);
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status WriteCopyStart(const std::string& stream, const CopyState& state) override {
    return Guard([&] {
      tx_->exec_params("DELETE FROM stagesync.copy_ranges WHERE stream = $1", stream);
      tx_->exec_params("DELETE FROM stagesync.copy_indexes WHERE stream = $1", stream);
      tx_->exec_params(
          "INSERT INTO stagesync.copy_state (stream, snapshot, position, holder_pid) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT (stream) DO UPDATE SET snapshot = "
          "excluded.snapshot, position = excluded.position, holder_pid = excluded.holder_pid, "
          "started_at = now(), finished_at = NULL",
          stream, state.snapshot, std::to_string(state.position), state.holder_pid);
      for (const auto& r : state.ranges) {
        tx_->exec_params(
            "INSERT INTO stagesync.copy_ranges (stream, table_name, part, parts, lower_bound, "
            "upper_bound) VALUES ($1, $2, $3, $4, $5, $6)",
            stream, r.table, r.part, r.parts, r.lower, r.upper);
      }
    });
  }

  Status WriteCopyRangeDone(const std::string& stream, const CopyRange& range) override {
    return Guard([&] {
      tx_->exec_params(
          "UPDATE stagesync.copy_ranges SET rows_copied = $4, bytes_copied = $5, done_at = "
          "clock_timestamp() WHERE stream = $1 AND table_name = $2 AND part = $3",
          stream, range.table, range.part, range.rows, range.bytes);
    });
  }

  Status WriteCopyFinished(const std::string& stream) override {
    return Guard([&] {
      tx_->exec_params(
          "UPDATE stagesync.copy_state SET finished_at = clock_timestamp() WHERE stream = $1",
          stream);
    });
  }

  Status RunDdl(const std::string& sql) override {
    try {
      pqxx::nontransaction q(*conn_);
      q.exec0(sql);
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status HasRows(const TargetTable& table, bool* out) override {
    try {
      pqxx::nontransaction q(*conn_);
      *out = !q.exec("SELECT 1 FROM " + table.Ident() + " LIMIT 1").empty();
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  Status WriteKafkaPositions(const std::string& stream, const std::string& group,
                             const std::vector<KafkaPosition>& positions, uint64_t events,
                             TimestampUs newest) override {
    return Guard([&] {
      for (const auto& p : positions) {
        tx_->exec_params(
            "INSERT INTO stagesync.kafka_offsets AS o (stream, topic, kafka_partition, "
            "next_offset, last_commit_lsn, lsn, total_order) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (stream, topic, kafka_partition) DO UPDATE SET next_offset = "
            "excluded.next_offset, last_commit_lsn = excluded.last_commit_lsn, lsn = "
            "excluded.lsn, total_order = excluded.total_order, updated_at = clock_timestamp()",
            group, p.topic, p.partition, p.next_offset, std::to_string(p.last_commit_lsn),
            std::to_string(p.lsn), p.total_order);
      }
      tx_->exec_params(
          "UPDATE stagesync.applied_position SET events_applied = events_applied + $2, "
          "commit_time = CASE WHEN $3::int8 > 0 THEN 'epoch'::timestamptz + $3::int8 * "
          "interval '1 microsecond' ELSE commit_time END, updated_at = clock_timestamp() "
          "WHERE stream = $1",
          stream, events, newest);
    });
  }

  Status LoadKafkaPositions(const std::string& group, std::vector<KafkaPosition>* out) override {
    try {
      pqxx::nontransaction tx(*conn_);
      for (const auto& r : tx.exec_params("SELECT topic, kafka_partition, next_offset, "
                                          "last_commit_lsn::text, lsn::text, total_order "
                                          "FROM stagesync.kafka_offsets WHERE stream = $1",
                                          group)) {
        KafkaPosition p;
        p.topic = r[0].as<std::string>();
        p.partition = r[1].as<int32_t>();
        p.next_offset = r[2].as<int64_t>();
        p.last_commit_lsn = std::stoull(r[3].as<std::string>());
        p.lsn = std::stoull(r[4].as<std::string>());
        p.total_order = r[5].as<int64_t>();
        out->push_back(std::move(p));
      }
    } catch (const std::exception& e) {
      return Status::Transient("target: " + pg::Describe(e));
    }
    return Status::Ok();
  }

  Status Committed(Lsn applied, Lsn* durable) override {
    try {
      pqxx::nontransaction q(*conn_);
      Lsn local = ParseLsn(q.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].as<std::string>())
                      .value_or(0);
      unflushed_.emplace_back(local, applied);
    } catch (const std::exception& e) {
      return Status::Transient("target connection lost after commit: " + pg::Describe(e));
    }
    return Durable(false, durable);
  }

  // Moves `durable` up to what the target's WAL has flushed; with `force`, first makes the
  // target flush (a synchronous no-op commit).
  Status Durable(bool force, Lsn* durable) override {
    if (unflushed_.empty()) return Status::Ok();
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_flush_check_ < std::chrono::milliseconds(50)) return Status::Ok();
    last_flush_check_ = now;
    try {
      if (force) {
        pqxx::work w(*conn_);
        w.exec0("SET LOCAL synchronous_commit = on");
        w.exec("SELECT txid_current()");  // a transaction id, so the commit writes WAL
        w.commit();
      }
      pqxx::nontransaction q(*conn_);
      Lsn flushed =
          ParseLsn(q.exec1("SELECT pg_current_wal_flush_lsn()::text")[0].as<std::string>())
              .value_or(0);
      while (!unflushed_.empty() && unflushed_.front().first <= flushed) {
        *durable = unflushed_.front().second;  // capture may now acknowledge it
        unflushed_.pop_front();
      }
    } catch (const std::exception& e) {
      return FromException(e, "target: ");
    }
    return Status::Ok();
  }

  bool AwaitingDurability() const override { return !unflushed_.empty(); }

 private:
  template <typename Fn>
  Status Guard(Fn fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return Status::Ok();
  }

  // For a value the target rejected: which column, found on a connection of its own (this
  // one's transaction is aborted) by writing each value as the statements do: cast to the
  // column's unmodified type, then assigned to a column of the real type (a temporary copy of
  // the table's shape), so a value too long for varchar(n) or bit(n) fails here too.
  std::string RejectedColumn(const TablePlan& plan, const RowChange& c) {
    const Tuple& values = c.op == RowOp::kDelete ? c.old_tuple : c.new_tuple;
    try {
      auto probe = pg::Connect(config_.target, "stagesync-diagnose");
      pqxx::nontransaction q(*probe);
      q.exec0("CREATE TEMPORARY TABLE stagesync_probe AS SELECT * FROM " + plan.target.Ident() +
              " LIMIT 0");
      for (size_t s = 0; s < values.size() && s < plan.source_to_target.size(); ++s) {
        int t = plan.source_to_target[s];
        if (t < 0 || values[s].kind != Value::Kind::kText) continue;
        const TargetColumn& col = plan.target.columns[t];
        try {
          q.exec_params("INSERT INTO pg_temp.stagesync_probe (" + pg::QuoteIdent(col.name) +
                            ") VALUES ($1::" + col.cast_type + ")",
                        values[s].text);
        } catch (const pqxx::sql_error&) {
          return "; column " + col.name + " (" + col.type + ") rejects the value '" +
                 values[s].text.substr(0, 200) + "'";
        }
      }
    } catch (const std::exception&) {
      // No diagnosis: the error itself still stands.
    }
    return "";
  }

  const Config config_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::unique_ptr<StatementWriter> writer_;
  // Groups committed but maybe not yet flushed on the target: (local WAL end, source end).
  std::deque<std::pair<Lsn, Lsn>> unflushed_;
  std::chrono::steady_clock::time_point last_flush_check_;
};

}  // namespace

Status OpenPostgresSession(const Config& config, std::unique_ptr<TargetSession>* out) {
  auto session = std::make_unique<PostgresSession>(config);
  if (Status s = session->Connect(); !s.ok()) return s;
  *out = std::move(session);
  return Status::Ok();
}

}  // namespace stagesync::apply
