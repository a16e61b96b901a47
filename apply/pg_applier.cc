// The PostgreSQL applier: groups source transactions into target transactions, writes each
// table's coalesced rows with set-based statements, and commits the applied position with
// the data.
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "batch.h"
#include "grouping.h"
#include "stagesync/apply.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"
#include "statement_writer.h"
#include "table_plan.h"
#include "target_catalog.h"

namespace stagesync::apply {
namespace {

constexpr size_t kChunkRows = 10000;                 // rows written per statement round at most
constexpr size_t kChunkBytes = 32u * 1024u * 1024u;  // bytes buffered before writing

}  // namespace

struct PostgresApplier::Impl : TransactionGrouping {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> tx;
  KnownSourceColumns known;
  std::unordered_map<const SourceRelation*, std::unique_ptr<TablePlan>> plans;
  std::map<int, TableBatch> batches;  // by plan id
  std::vector<RowChange> raw;         // the batched changes, in order, for the exact fallback
  size_t raw_bytes = 0;
  std::set<std::string> warned;
  int next_plan_id = 1;
  std::unique_ptr<StatementWriter> writer;                         // set-based statements on conn
  std::map<std::string, std::optional<TargetTable>> target_cache;  // for schemaless decoding
  // Groups committed but maybe not yet flushed on the target: (local WAL end, source end).
  std::deque<std::pair<Lsn, Lsn>> unflushed;
  Clock::time_point last_flush_check;

  bool GroupOpen() const override { return tx != nullptr; }
  void OpenGroup() override { tx = std::make_unique<pqxx::work>(*conn); }
  Status ApplyRow(RowChange& c) override { return OnRow(c); }
  Status ApplyTruncate(const TruncateChange& t) override { return OnTruncate(t); }
  // Acknowledgements follow the target's WAL flush, checked between batches. Not while a
  // group is open (a source transaction can pause mid-way): the flush query would need a
  // second transaction on this connection; the check runs again once the group commits.
  Status Tick(bool final) override { return tx ? Status::Ok() : AdvanceDurable(final); }
  std::chrono::milliseconds MaxWait() const override {
    return std::chrono::milliseconds(unflushed.empty() ? 200 : 50);
  }

  Status Connect() {
    try {
      conn = pg::Connect(config.target, "stagesync-apply");
      writer = std::make_unique<StatementWriter>(*conn);
      pqxx::nontransaction s(*conn);
      // Like PostgreSQL's apply worker: commit without waiting for the WAL flush, and
      // acknowledge a group to the source only once the target's flushed WAL covers it.
      s.exec0("SET synchronous_commit = off");
      s.exec0("SET statement_timeout = 0");
      s.exec0("SET lock_timeout = 0");
      s.exec0("SET idle_in_transaction_session_timeout = 0");
      s.exec0("SET search_path = pg_catalog, pg_temp");
      try {
        // Like PostgreSQL's own apply worker: no FK/trigger firing, so order between tables
        // inside a batch cannot fail on foreign keys.
        s.exec0("SET session_replication_role = replica");
      } catch (const pqxx::sql_error& e) {
        LOG_WARN("apply: cannot SET session_replication_role = replica ("
                 << pg::Describe(e) << "); foreign keys and triggers on the target will fire. "
                 << "Connect as a superuser to avoid order failures.");
      }
      auto row = s.exec_params(
          "SELECT lsn::text, events_applied, transactions_applied, "
          "  (extract(epoch FROM commit_time) * 1e6)::int8 "
          "FROM stagesync.applied_position WHERE stream = $1",
          config.source.slot);
      if (row.empty()) {
        return Status::Usage("target has no applied position for stream " + config.source.slot +
                             ": run `stagesync setup` with this config first");
      }
      applied = ParseLsn(row[0][0].as<std::string>()).value_or(0);
      events_total = row[0][1].as<uint64_t>();
      txns_total = row[0][2].as<uint64_t>();
      if (!row[0][3].is_null()) progress.applied_commit_time = row[0][3].as<int64_t>();
      for (const auto& r : s.exec_params(
               "SELECT table_name, column_name FROM stagesync.source_columns WHERE stream = $1",
               config.source.slot)) {
        known[r[0].as<std::string>()].insert(r[1].as<std::string>());
      }
      conn->prepare("stagesync_checkpoint",
                    "UPDATE stagesync.applied_position SET lsn = $2::pg_lsn, "
                    "commit_time = 'epoch'::timestamptz + $3::int8 * interval '1 microsecond', "
                    "events_applied = $4::int8, transactions_applied = $5::int8, "
                    "updated_at = clock_timestamp() "
                    "WHERE stream = $1");
    } catch (const pqxx::sql_error& e) {
      return Status::Usage("target: " + pg::Describe(e) +
                           " (did `stagesync setup` run with this config?)");
    } catch (const std::exception& e) {
      return Status::Transient("target: " + pg::Describe(e));
    }
    progress.durable = applied;
    progress.events_applied = events_total;
    progress.transactions_applied = txns_total;
    return Status::Ok();
  }

  // The plan for a relation; built (and the target re-read) when the source announces it.
  Status PlanFor(const RelationPtr& rel, TablePlan** out) {
    if (auto it = plans.find(rel.get()); it != plans.end()) {
      *out = it->second.get();
      return Status::Ok();
    }
    // A new shape of a table we already write: what is pending under the old one goes first.
    if (Status s = FlushAll(); !s.ok()) return s;
    auto [schema, name] = MappedTargetName(config, rel->schema, rel->name);
    auto target = LoadTargetTable(*tx, schema, name);
    if (!target) {
      return Status::Error("source table " + rel->QualifiedName() + " has no target table " +
                           schema + "." + name +
                           ": create it on the target or map it in [mapping]");
    }
    auto plan = std::make_unique<TablePlan>();
    std::vector<std::string> warnings;
    if (Status s =
            BuildTablePlan(config, rel, *target, known, next_plan_id++, plan.get(), &warnings);
        !s.ok()) {
      return s;
    }
    for (const auto& w : warnings) {
      if (warned.insert(w).second) LOG_WARN("apply: " << w);
    }
    // Keep only the newest shape per relation id; older plans have nothing pending.
    for (auto it = plans.begin(); it != plans.end();) {
      if (it->first->id == rel->id) {
        batches.erase(it->second->id);
        it = plans.erase(it);
      } else {
        ++it;
      }
    }
    *out = plan.get();
    plans.emplace(rel.get(), std::move(plan));
    return Status::Ok();
  }

  // For a value the target rejected: which column, found on a connection of its own (this
  // one's transaction is aborted) by writing each value as the statements do: cast to the
  // column's unmodified type, then assigned to a column of the real type (a temporary copy of
  // the table's shape), so a value too long for varchar(n) or bit(n) fails here too.
  std::string RejectedColumn(const TablePlan& plan, const RowChange& c) {
    const Tuple& values = c.op == RowOp::kDelete ? c.old_tuple : c.new_tuple;
    try {
      auto probe = pg::Connect(config.target, "stagesync-diagnose");
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
      // No diagnosis: the error above still stands.
    }
    return "";
  }

  Status RowError(const RowChange& c, const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
      return Status::Transient("target connection lost: " + pg::Describe(e));
    }
    auto it = plans.find(c.relation.get());
    std::string key = it != plans.end() ? DescribeKey(*it->second, c) : "";
    std::string target = it != plans.end() ? it->second->TargetName() : "?";
    std::string column;
    if (it != plans.end() && dynamic_cast<const pqxx::data_exception*>(&e)) {
      column = RejectedColumn(*it->second, c);
    }
    return Status::Error("apply of " + std::string(OpName(c.op)) + " on " +
                         c.relation->QualifiedName() + " key " + key + " at " +
                         DescribePosition(config.source.kind, c.lsn) + " into " + target +
                         " failed: " + pg::Describe(e) + column +
                         ". Nothing after the last applied position was committed; fix the "
                         "target and start `stagesync " +
                         (config.stream.transport == "kafka" ? "apply" : "run") + "` again.");
  }

  // The coalesced form failed (e.g. a unique value moving between rows, or a bad value):
  // replay the same changes one by one, exactly as the source made them, so that an error
  // names the row that causes it.
  Status ReplayRowByRow(const std::string& batch_error) {
    LOG_DEBUG("apply: batch failed (" << batch_error << "); replaying row by row");
    try {
      tx->exec0("ROLLBACK TO SAVEPOINT stagesync_batch");
    } catch (const std::exception& rollback_error) {
      return Status::Transient("target: " + pg::Describe(rollback_error));
    }
    for (const RowChange& c : raw) {
      try {
        writer->ExecSingle(*tx, *plans.at(c.relation.get()), c);
      } catch (const std::exception& row_error) {
        return RowError(c, row_error);
      }
    }
    return Status::Ok();
  }

  Status FlushAll() override {
    if (raw.empty()) return Status::Ok();
    // Savepoints by hand: libpqxx 6's subtransaction sends its SAVEPOINT lazily, and not at
    // all when its first statement is a prepared one, so a failure could not be rolled back.
    try {
      tx->exec0("SAVEPOINT stagesync_batch");
      for (auto& [id, batch] : batches) {
        if (!batch.empty()) writer->FlushTable(*tx, batch);
      }
      tx->exec0("RELEASE SAVEPOINT stagesync_batch");
    } catch (const pqxx::broken_connection& e) {
      return Status::Transient("target connection lost: " + pg::Describe(e));
    } catch (const pqxx::sql_error& e) {
      if (Status s = ReplayRowByRow(pg::Describe(e)); !s.ok()) return s;
    } catch (const IncompleteRowError& e) {
      if (Status s = ReplayRowByRow(e.what()); !s.ok()) return s;
    }
    for (auto& [id, batch] : batches) batch.Clear();
    raw.clear();
    raw_bytes = 0;
    return Status::Ok();
  }

  Status OnRow(RowChange& c) {
    if (skipping) return Status::Ok();
    if (IsHeartbeat(*c.relation)) return Status::Ok();
    TablePlan* plan = nullptr;
    if (Status s = PlanFor(c.relation, &plan); !s.ok()) return s;
    txn_has_data = true;
    group_events++;
    group_rows++;
    if (plan->keyless && c.op == RowOp::kInsert) {
      // Rows without a key are only ever appended: batch them like the rest.
      batches.try_emplace(plan->id, plan).first->second.Append(c);
      raw_bytes += ApproximateSize(ChangeEvent(c));
      raw.push_back(std::move(c));
      if (raw.size() >= kChunkRows || raw_bytes >= kChunkBytes) return FlushAll();
      return Status::Ok();
    }
    if (plan->keyless || MovesKey(*plan, c)) {
      // Pending rows of this table go first, so its changes keep their order.
      if (Status s = FlushAll(); !s.ok()) return s;
      try {
        writer->ExecSingle(*tx, *plan, c);
      } catch (const std::exception& e) {
        return RowError(c, e);
      }
      return Status::Ok();
    }
    batches.try_emplace(plan->id, plan).first->second.Add(c);
    raw_bytes += ApproximateSize(ChangeEvent(c));
    raw.push_back(std::move(c));
    if (raw.size() >= kChunkRows || raw_bytes >= kChunkBytes) return FlushAll();
    return Status::Ok();
  }

  Status OnTruncate(const TruncateChange& t) {
    if (skipping) return Status::Ok();
    if (Status s = FlushAll(); !s.ok()) return s;
    std::string list;
    for (const auto& rel : t.relations) {
      if (IsHeartbeat(*rel)) continue;
      auto [schema, name] = MappedTargetName(config, rel->schema, rel->name);
      auto target = LoadTargetTable(*tx, schema, name);
      if (!target) {
        return Status::Error("TRUNCATE of " + rel->QualifiedName() + " at " +
                             DescribePosition(config.source.kind, t.lsn) + ": no target table " +
                             schema + "." + name);
      }
      list += (list.empty() ? "" : ", ") + target->Ident();
    }
    if (list.empty()) return Status::Ok();
    txn_has_data = true;
    group_events++;
    try {
      tx->exec0("TRUNCATE " + list + (t.restart_identity ? " RESTART IDENTITY" : "") +
                (t.cascade ? " CASCADE" : ""));
    } catch (const std::exception& e) {
      return Status::Error("apply of TRUNCATE " + list + " at " +
                           DescribePosition(config.source.kind, t.lsn) +
                           " failed: " + pg::Describe(e));
    }
    return Status::Ok();
  }

  // One target transaction for a batch that came through Kafka, with its positions.
  Status ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                    const std::vector<KafkaPosition>& positions) {
    TimestampUs newest = 0;
    if (Status s = ApplyKafkaEvents(events, &newest); !s.ok()) return s;
    for (const auto& p : positions) {
      tx->exec_params(
          "INSERT INTO stagesync.kafka_offsets AS o (stream, topic, kafka_partition, next_offset, "
          "last_commit_lsn, lsn, total_order) VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (stream, topic, kafka_partition) DO UPDATE SET next_offset = "
          "excluded.next_offset, "
          "last_commit_lsn = excluded.last_commit_lsn, lsn = excluded.lsn, "
          "total_order = excluded.total_order, updated_at = clock_timestamp()",
          group, p.topic, p.partition, p.next_offset, std::to_string(p.last_commit_lsn),
          std::to_string(p.lsn), p.total_order);
    }
    tx->exec_params(
        "UPDATE stagesync.applied_position SET events_applied = events_applied + $2, "
        "commit_time = CASE WHEN $3::int8 > 0 THEN 'epoch'::timestamptz + $3::int8 * interval "
        "'1 microsecond' ELSE commit_time END, updated_at = clock_timestamp() WHERE stream = $1",
        config.source.slot, group_events, newest);
    tx->commit();
    tx.reset();
    KafkaBatchCommitted(newest);
    return Status::Ok();
  }

  Status CommitGroup() override {
    if (!tx) return Status::Ok();
    auto started = Clock::now();
    if (Status s = FlushAll(); !s.ok()) return s;
    try {
      if (group_end > applied) {
        tx->exec_prepared("stagesync_checkpoint", config.source.slot, FormatLsn(group_end),
                          group_commit_time, events_total + group_events, txns_total + group_txns);
      }
      tx->commit();
    } catch (const pqxx::broken_connection& e) {
      return Status::Transient("target connection lost at commit: " + pg::Describe(e) +
                               " (nothing after " + FormatLsn(applied) + " was acknowledged)");
    } catch (const std::exception& e) {
      return Status::Error("commit on the target failed: " + pg::Describe(e) + " (nothing after " +
                           FormatLsn(applied) + " was acknowledged)");
    }
    tx.reset();
    GroupCommitted(started);
    try {
      pqxx::nontransaction q(*conn);
      Lsn local = ParseLsn(q.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].as<std::string>())
                      .value_or(0);
      unflushed.emplace_back(local, applied);
    } catch (const pqxx::broken_connection& e) {
      return Status::Transient("target connection lost after commit: " + pg::Describe(e));
    }
    return AdvanceDurable(false);
  }

  // Moves the acknowledgeable position up to what the target's WAL has flushed; with
  // `force`, first makes the target flush (a synchronous no-op commit).
  Status AdvanceDurable(bool force) {
    if (unflushed.empty()) return Status::Ok();
    auto now = Clock::now();
    if (!force && now - last_flush_check < std::chrono::milliseconds(50)) return Status::Ok();
    last_flush_check = now;
    try {
      if (force) {
        pqxx::work w(*conn);
        w.exec0("SET LOCAL synchronous_commit = on");
        w.exec("SELECT txid_current()");  // a transaction id, so the commit writes WAL
        w.commit();
      }
      pqxx::nontransaction q(*conn);
      Lsn flushed =
          ParseLsn(q.exec1("SELECT pg_current_wal_flush_lsn()::text")[0].as<std::string>())
              .value_or(0);
      while (!unflushed.empty() && unflushed.front().first <= flushed) {
        progress.durable = unflushed.front().second;  // capture may now acknowledge it
        unflushed.pop_front();
      }
    } catch (const pqxx::broken_connection& e) {
      return Status::Transient("target connection lost: " + pg::Describe(e));
    }
    return Status::Ok();
  }

  void Abandon() override {
    try {
      if (tx) tx->abort();
    } catch (...) {
    }
    tx.reset();
    raw.clear();
    raw_bytes = 0;
    for (auto& [id, batch] : batches) batch.Clear();
    group_events = group_txns = 0;
    group_rows = 0;
    progress.pending_since = 0;
  }
};

PostgresApplier::PostgresApplier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresApplier::~PostgresApplier() = default;

Status OpenApplier(const Config& config, std::unique_ptr<Applier>* out) {
  if (config.target.kind == "mysql") return OpenMysqlApplier(config, out);
  std::unique_ptr<PostgresApplier> pg;
  Status s = PostgresApplier::Open(config, &pg);
  *out = std::move(pg);
  return s;
}

Status OpenKafkaTarget(const Config& config, std::unique_ptr<KafkaTarget>* out) {
  if (config.target.kind == "mysql") return OpenMysqlKafkaTarget(config, out);
  if (Status s = EnsurePostgresBookkeeping(config); !s.ok()) return s;
  std::unique_ptr<PostgresApplier> pg;
  Status s = PostgresApplier::Open(config, &pg);
  *out = std::move(pg);
  return s;
}

Status PostgresApplier::Open(const Config& config, std::unique_ptr<PostgresApplier>* out) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (Status s = impl->Connect(); !s.ok()) return s;
  out->reset(new PostgresApplier(std::move(impl)));
  return Status::Ok();
}

Lsn PostgresApplier::resume_position() const {
  return impl_->applied;
}
// Statement errors become row-level messages where they happen; what reaches here is the
// connection failing (e.g. at BEGIN) or something unforeseen. Either way the open target
// transaction is abandoned, so nothing half-applied is ever committed.
template <typename Fn, typename Abandon>
Status Guarded(Fn fn, Abandon abandon) {
  try {
    return fn();
  } catch (const pqxx::broken_connection& e) {
    abandon();
    return Status::Transient("target connection lost: " + pg::Describe(e));
  } catch (const std::exception& e) {
    abandon();
    return Status::Error("apply failed: " + pg::Describe(e));
  }
}

Status PostgresApplier::Run(EventQueue& queue) {
  return Guarded([&] { return impl_->Drive(queue); }, [&] { impl_->Abandon(); });
}

ApplyProgress& PostgresApplier::progress() {
  return impl_->progress;
}

Status PostgresApplier::ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                                   const std::vector<KafkaPosition>& positions) {
  return Guarded([&] { return impl_->ApplyBatch(events, group, positions); },
                 [&] { impl_->Abandon(); });
}

Status PostgresApplier::LoadKafkaPositions(const std::string& group,
                                           std::vector<KafkaPosition>* out) {
  try {
    pqxx::nontransaction tx(*impl_->conn);
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

std::optional<std::string> PostgresApplier::TargetColumnType(const std::string& schema,
                                                             const std::string& table,
                                                             const std::string& column) {
  auto [tschema, tname] = MappedTargetName(impl_->config, schema, table);
  std::string key = tschema + "." + tname;
  auto it = impl_->target_cache.find(key);
  if (it == impl_->target_cache.end()) {
    try {
      pqxx::nontransaction tx(*impl_->conn);
      it = impl_->target_cache.emplace(key, LoadTargetTable(tx, tschema, tname)).first;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!it->second) return std::nullopt;
  int idx = it->second->FindColumn(MappedColumnName(impl_->config, schema + "." + table, column));
  if (idx < 0) return std::nullopt;
  return it->second->columns[idx].type;
}

bool PostgresApplier::TargetTableExists(const std::string& schema, const std::string& table) {
  TargetColumnType(schema, table, "");
  auto [tschema, tname] = MappedTargetName(impl_->config, schema, table);
  auto it = impl_->target_cache.find(tschema + "." + tname);
  return it != impl_->target_cache.end() && it->second.has_value();
}

}  // namespace stagesync::apply
