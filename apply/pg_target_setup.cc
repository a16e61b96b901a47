// Target-side setup for PostgreSQL: bookkeeping tables, the source column snapshot, mapping
// checks, and reading the applied position back for `status`.
#include <cctype>
#include <set>

#include "bookkeeping_sql.h"
#include "engines.h"
#include "rule_plan.h"
#include "stagesync/apply.h"
#include "stagesync/pg.h"
#include "table_plan.h"
#include "target_catalog.h"

namespace stagesync::apply {

Status PrepareTarget(const Config& config, const std::vector<TableShape>& source_tables,
                     std::vector<std::string>* warnings) {
  return config.target.kind == Engine::kMysql
             ? PrepareMysqlTarget(config, source_tables, warnings)
             : PreparePostgresTarget(config, source_tables, warnings);
}

Status CheckTargetMapping(const Config& config, const std::vector<TableShape>& source_tables,
                          std::vector<std::string>* problems) {
  CheckUpgradeRules(config, source_tables, problems);
  return config.target.kind == Engine::kMysql
             ? CheckMysqlTargetMapping(config, source_tables, problems)
             : CheckPostgresTargetMapping(config, source_tables, problems);
}

Status CheckMappingColumns(const Config& config, const std::vector<TableShape>& source_tables,
                           std::vector<std::string>* problems) {
  CheckUpgradeRules(config, source_tables, problems);
  return config.target.kind == Engine::kMysql
             ? CheckMysqlMappingColumns(config, source_tables, problems)
             : CheckPostgresMappingColumns(config, source_tables, problems);
}

namespace {

// Setup and run's preflight: a target that cannot be reached is a problem of target.dsn.
Status ConnectOrDsnProblem(const Config& config, const char* application_name,
                           std::unique_ptr<pqxx::connection>* out) {
  try {
    *out = pg::Connect(config.target, application_name);
  } catch (const std::exception& e) {
    return TargetDsnProblem(pg::Describe(e));
  }
  return Status::Ok();
}

// Each table's [mapping] columns and [upgrade] rules against the target; `require` makes a
// missing target table a problem (run's preflight), else it may come later (setup).
void CheckTables(const Config& config, const std::vector<TableShape>& source_tables,
                 pqxx::connection& conn, bool require, std::vector<std::string>* problems) {
  std::vector<RuleProbe> probes;
  {
    pqxx::read_transaction tx(conn);
    CheckTargetTables(
        config, source_tables,
        [&](const std::string& schema, const std::string& name) {
          return LoadTargetTable(tx, schema, name);
        },
        require, [](const TargetColumn* c) { return "NULL::" + (c ? c->cast_type : "text"); },
        problems, &probes);
  }
  if (probes.empty()) return;
  pqxx::nontransaction q(conn);
  q.exec0("SET search_path = " + RuleSearchPath(config));
  for (const auto& p : probes) {
    // PREPARE resolves every table, column, function and type without running anything.
    try {
      q.exec0("PREPARE stagesync_rule_probe AS " + p.sql);
      q.exec0("DEALLOCATE stagesync_rule_probe");
    } catch (const pqxx::sql_error& e) {
      problems->push_back(ProbeProblem(p, pg::Describe(e)));
    }
  }
}

}  // namespace

Status CheckPostgresMappingColumns(const Config& config,
                                   const std::vector<TableShape>& source_tables,
                                   std::vector<std::string>* problems) {
  std::unique_ptr<pqxx::connection> conn;
  if (Status s = ConnectOrDsnProblem(config, "stagesync-check", &conn); !s.ok()) return s;
  try {
    CheckTables(config, source_tables, *conn, /*require=*/false, problems);
  } catch (const std::exception& e) {
    return Status::Usage("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status ResolveTargetTable(const Config& config, const TableShape& source,
                          std::optional<TableCorrespondence>* out) {
  if (config.target.kind == Engine::kMysql) return ResolveMysqlTargetTable(config, source, out);
  try {
    auto conn = pg::Connect(config.target, "stagesync-verify");
    pqxx::read_transaction tx(*conn);
    auto [schema, name] = MappedTargetName(config, source.schema, source.name);
    auto target = LoadTargetTable(tx, schema, name);
    out->reset();
    if (target) *out = Correspond(config, source, *target);
  } catch (const std::exception& e) {
    return Status::Error("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status PreparePostgresTarget(const Config& config, const std::vector<TableShape>& source_tables,
                             std::vector<std::string>* warnings) {
  std::unique_ptr<pqxx::connection> conn;
  if (Status s = ConnectOrDsnProblem(config, "stagesync-setup", &conn); !s.ok()) return s;
  try {
    pqxx::work tx(*conn);
    tx.exec0("SET LOCAL client_min_messages = warning");
    tx.exec0(kPostgresBookkeepingSql);
    // Replace the snapshot only when it differs, so a repeated setup writes nothing.
    std::set<std::pair<std::string, std::string>> want = SourceColumnSnapshot(source_tables), have;
    for (const auto& r : tx.exec_params(
             "SELECT table_name, column_name FROM stagesync.source_columns WHERE stream = $1",
             config.source.slot)) {
      have.emplace(r[0].as<std::string>(), r[1].as<std::string>());
    }
    if (want != have) {
      tx.exec_params("DELETE FROM stagesync.source_columns WHERE stream = $1", config.source.slot);
      for (const auto& [table, column] : want) {
        tx.exec_params("INSERT INTO stagesync.source_columns VALUES ($1, $2, $3)",
                       config.source.slot, table, column);
      }
    }
    tx.exec_params(
        "INSERT INTO stagesync.applied_position (stream) VALUES ($1) ON CONFLICT DO NOTHING",
        config.source.slot);
    WarnAboutMissingTargets(
        config, source_tables,
        [&](const std::string& schema, const std::string& name) {
          return LoadTargetTable(tx, schema, name);
        },
        warnings);
    tx.commit();
  } catch (const std::exception& e) {
    return Status::Error("target setup failed: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status EnsurePostgresBookkeeping(const Config& config) {
  try {
    auto conn = pg::Connect(config.target, "stagesync-apply");
    pqxx::work tx(*conn);
    tx.exec0("SET LOCAL client_min_messages = warning");
    tx.exec0(kPostgresBookkeepingSql);
    tx.exec_params(
        "INSERT INTO stagesync.applied_position (stream) VALUES ($1) ON CONFLICT DO NOTHING",
        config.source.slot);
    tx.commit();
  } catch (const std::exception& e) {
    return Status::Transient("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status CheckPostgresTargetMapping(const Config& config,
                                  const std::vector<TableShape>& source_tables,
                                  std::vector<std::string>* problems) {
  std::unique_ptr<pqxx::connection> conn;
  if (Status s = ConnectOrDsnProblem(config, "stagesync-check", &conn); !s.ok()) return s;
  try {
    {
      pqxx::read_transaction tx(*conn);
      auto bookkeeping = tx.exec(
          "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE n.nspname = 'stagesync' AND c.relname = 'applied_position'");
      if (bookkeeping.empty()) {
        problems->push_back("the target has no stagesync bookkeeping: run `stagesync setup` first");
      }
    }
    CheckTables(config, source_tables, *conn, /*require=*/true, problems);
  } catch (const std::exception& e) {
    return Status::Usage("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status ReadAppliedPosition(const Config& config, AppliedPosition* out) {
  if (config.target.kind == Engine::kMysql) return ReadMysqlAppliedPosition(config, out);
  try {
    auto conn = pg::Connect(config.target, "stagesync-status");
    pqxx::read_transaction tx(*conn);
    out->target_now =
        tx.exec1("SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::int8")[0].as<int64_t>();
    auto exists = tx.exec(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'stagesync' AND c.relname = 'applied_position'");
    if (exists.empty()) return Status::Ok();
    auto r = tx.exec_params(
        "SELECT lsn::text, (extract(epoch FROM commit_time) * 1e6)::int8, events_applied, "
        "  transactions_applied, (extract(epoch FROM updated_at) * 1e6)::int8, "
        "  (extract(epoch FROM live_at) * 1e6)::int8, live_lag_seconds, coalesce(live_state, ''), "
        "  coalesce(last_error, '') "
        "FROM stagesync.applied_position WHERE stream = $1",
        config.source.slot);
    if (r.empty()) return Status::Ok();
    out->found = true;
    out->lsn = ParseLsn(r[0][0].as<std::string>()).value_or(0);
    if (!r[0][1].is_null()) out->commit_time = r[0][1].as<int64_t>();
    out->events_applied = r[0][2].as<uint64_t>();
    out->transactions_applied = r[0][3].as<uint64_t>();
    if (!r[0][4].is_null()) out->updated_at = r[0][4].as<int64_t>();
    if (!r[0][5].is_null()) out->live_at = r[0][5].as<int64_t>();
    if (!r[0][6].is_null()) out->live_lag_seconds = r[0][6].as<double>();
    out->live_state = r[0][7].as<std::string>();
    out->last_error = r[0][8].as<std::string>();
  } catch (const std::exception& e) {
    return Status::Error("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

}  // namespace stagesync::apply

namespace stagesync::apply {

struct LiveStatusConnection {
  std::unique_ptr<pqxx::connection> conn;
};

LiveStatusWriter::LiveStatusWriter(const Config& config) : config_(config) {}
LiveStatusWriter::~LiveStatusWriter() = default;

Status LiveStatusWriter::Write(double lag_seconds, const std::string& state) {
  return Store(lag_seconds, state, "");
}

Status LiveStatusWriter::WriteError(const std::string& error) {
  return Store(0, "error", error);
}

Status LiveStatusWriter::Store(double lag_seconds, const std::string& state,
                               const std::string& error) {
  if (config_.target.kind == Engine::kMysql)
    return WriteMysqlLiveStatus(config_, lag_seconds, state, error);
  try {
    if (!conn_) {
      conn_ = std::make_unique<LiveStatusConnection>();
      conn_->conn = pg::Connect(config_.target, "stagesync-live-status");
    }
    pqxx::nontransaction tx(*conn_->conn);
    tx.exec_params(
        "UPDATE stagesync.applied_position SET live_lag_seconds = $2, live_state = $3, "
        "live_at = clock_timestamp(), last_error = nullif($4, '') WHERE stream = $1",
        config_.source.slot, lag_seconds, state, error);
  } catch (const std::exception& e) {
    conn_.reset();
    return Status::Error("target: " + pg::Describe(e));
  }
  return Status::Ok();
}

}  // namespace stagesync::apply
