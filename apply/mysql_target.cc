// Target-side setup for MySQL/MariaDB: bookkeeping tables, the source column snapshot,
// mapping checks, the catalog, and the applied position for `status`.
#include "mysql_target.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <set>
#include <sstream>

#include "bookkeeping_sql.h"
#include "engines.h"
#include "rule_plan.h"
#include "stagesync/apply.h"
#include "stagesync/mysql.h"
#include "table_plan.h"

namespace stagesync::apply {
namespace {

using mysql::QuoteLiteral;

std::vector<std::vector<std::optional<std::string>>> Select(sql::Connection& conn,
                                                            const std::string& sql,
                                                            const std::vector<std::string>& args) {
  std::unique_ptr<sql::PreparedStatement> st(conn.prepareStatement(sql));
  for (size_t i = 0; i < args.size(); ++i) st->setString(static_cast<unsigned>(i + 1), args[i]);
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
  std::vector<std::vector<std::optional<std::string>>> out;
  const unsigned n = rs->getMetaData()->getColumnCount();
  while (rs->next()) {
    auto& row = out.emplace_back();
    for (unsigned i = 1; i <= n; ++i) {
      row.push_back(rs->isNull(i) ? std::nullopt
                                  : std::optional<std::string>(rs->getString(i).asStdString()));
    }
  }
  return out;
}

}  // namespace

void RunMysqlBookkeeping(sql::Connection& conn) {
  std::istringstream in(kMysqlBookkeepingSql);
  std::string line, statement;
  while (std::getline(in, line)) {
    if (line == ";") {
      mysql::Exec(conn, statement);
      statement.clear();
    } else if (line.rfind("--", 0) != 0) {
      statement += line + "\n";
    }
  }
  if (statement.find_first_not_of(" \n") != std::string::npos) mysql::Exec(conn, statement);
}

namespace {

std::string DatabaseOf(const Config& config) {
  mysql::Endpoint e;
  return mysql::ParseDsn(config.target, &e).ok() ? e.database : "";
}

// Setup and run's preflight: a target that cannot be reached is a problem of target.dsn.
Status ConnectOrDsnProblem(const Config& config, std::unique_ptr<sql::Connection>* out) {
  try {
    *out = mysql::Connect(config.target);
  } catch (const std::exception& e) {
    return TargetDsnProblem(mysql::Describe(e));
  }
  return Status::Ok();
}

// Each table's [mapping] columns and [upgrade] rules against the target; `require` makes a
// missing target table a problem (run's preflight), else it may come later (setup).
void CheckTables(const Config& config, const std::vector<TableShape>& source_tables,
                 sql::Connection& conn, bool require, std::vector<std::string>* problems) {
  const std::string db = DatabaseOf(config);
  std::vector<RuleProbe> probes;
  CheckTargetTables(
      config, source_tables,
      [&](const std::string& schema, const std::string& name) {
        return LoadMysqlTargetTable(conn, schema, name, db);
      },
      require, [](const TargetColumn*) { return std::string("NULL"); }, problems, &probes);
  for (const auto& p : probes) {
    // A server-side PREPARE resolves every table and column without running anything.
    try {
      mysql::Exec(conn, "PREPARE stagesync_rule_probe FROM " + QuoteLiteral(p.sql));
      mysql::Exec(conn, "DEALLOCATE PREPARE stagesync_rule_probe");
    } catch (const sql::SQLException& e) {
      problems->push_back(ProbeProblem(p, mysql::Describe(e)));
    }
  }
}

Status TargetError(const std::exception& e) {
  if (auto* s = dynamic_cast<const sql::SQLException*>(&e); s && mysql::IsConnectionLost(*s)) {
    return Status::Transient("target: " + mysql::Describe(e));
  }
  return Status::Error("target: " + mysql::Describe(e));
}

}  // namespace

std::optional<std::string> PostgresSpelling(const std::string& data_type,
                                            const std::string& column_type) {
  const std::string t = AsciiLower(data_type), full = AsciiLower(column_type);
  auto paren = full.find('(');
  const std::string args =
      paren == std::string::npos ? "" : full.substr(paren, full.find(')') - paren + 1);
  const bool is_unsigned = full.find("unsigned") != std::string::npos;
  if (t == "tinyint" || t == "smallint") return "smallint";
  if (t == "mediumint" || t == "int" || t == "year") return is_unsigned ? "bigint" : "integer";
  if (t == "bigint") return is_unsigned ? "numeric" : "bigint";
  if (t == "decimal") return "numeric" + args;
  if (t == "float") return "real";
  if (t == "double") return "double precision";
  if (t == "date") return "date";
  if (t == "datetime") return "timestamp" + args + " without time zone";
  if (t == "timestamp") return "timestamp" + args + " with time zone";
  if (t == "time") return "time" + args + " without time zone";
  if (t == "bit") return "bit" + args;
  if (t == "json") return "jsonb";
  if (t == "binary" || t == "varbinary" || t.find("blob") != std::string::npos) return "bytea";
  return "text";
}

std::optional<TargetTable> LoadMysqlTargetTable(sql::Connection& conn, const std::string& schema,
                                                const std::string& table,
                                                const std::string& default_database) {
  // information_schema compares case- and accent-insensitively ('Ü' = 'u'): the query finds
  // candidates, FindQualifiedName picks by our rule (exact, then ASCII case only).
  auto find =
      [&](const std::string& in_schema) -> std::optional<std::pair<std::string, std::string>> {
    std::vector<std::pair<std::string, std::string>> names;
    for (auto& row : Select(conn,
                            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
                            "TABLE_TYPE = 'BASE TABLE' AND LOWER(TABLE_SCHEMA) = LOWER(?) AND "
                            "LOWER(TABLE_NAME) = LOWER(?)",
                            {in_schema, table})) {
      names.emplace_back(*row[0], *row[1]);
    }
    int pick = FindQualifiedName(names, in_schema, table);
    if (pick < 0) return std::nullopt;
    return names[pick];
  };
  auto found = find(schema);
  if (!found && !default_database.empty()) {
    bool schema_exists = false;
    for (auto& row : Select(conn,
                            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE "
                            "LOWER(SCHEMA_NAME) = LOWER(?)",
                            {schema})) {
      schema_exists |= AsciiEqualFold(*row[0], schema);
    }
    if (!schema_exists) found = find(default_database);
  }
  if (!found) return std::nullopt;
  TargetTable t;
  t.schema = found->first;
  t.name = found->second;
  for (auto& row : Select(conn,
                          "SELECT COLUMN_NAME, LOWER(DATA_TYPE), COALESCE(EXTRA, ''), "
                          "COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND "
                          "TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                          {t.schema, t.name})) {
    TargetColumn c;
    c.name = *row[0];
    c.type = *row[1];
    c.generated = AsciiLower(*row[2]).find("generated") != std::string::npos;
    c.decode_type = PostgresSpelling(c.type, *row[3]).value_or("text");
    t.columns.push_back(std::move(c));
  }
  // The primary key, else the first unique index over NOT NULL columns.
  std::string index;
  std::vector<int> key;
  bool usable = true;
  for (auto& row : Select(conn,
                          "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM "
                          "information_schema.STATISTICS s JOIN information_schema.COLUMNS c "
                          "USING (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME) WHERE s.TABLE_SCHEMA = ? "
                          "AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 ORDER BY s.INDEX_NAME = "
                          "'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
                          {t.schema, t.name})) {
    if (*row[0] != index) {
      if (!index.empty() && usable && !key.empty()) break;
      index = *row[0];
      key.clear();
      usable = true;
    }
    if (*row[2] == "YES") usable = false;
    key.push_back(t.FindColumn(*row[1]));
  }
  if (usable) t.key = key;
  return t;
}

Status PrepareMysqlTarget(const Config& config, const std::vector<TableShape>& source_tables,
                          std::vector<std::string>* warnings) {
  std::unique_ptr<sql::Connection> conn;
  if (Status s = ConnectOrDsnProblem(config, &conn); !s.ok()) return s;
  try {
    RunMysqlBookkeeping(*conn);
    conn->setAutoCommit(false);
    std::set<std::pair<std::string, std::string>> want = SourceColumnSnapshot(source_tables), have;
    for (auto& r : Select(*conn,
                          "SELECT table_name, column_name FROM stagesync.source_columns WHERE "
                          "stream = ?",
                          {config.source.slot})) {
      have.emplace(*r[0], *r[1]);
    }
    const std::string stream = QuoteLiteral(config.source.slot);
    if (want != have) {
      mysql::Exec(*conn, "DELETE FROM stagesync.source_columns WHERE stream = " + stream);
      for (const auto& [table, column] : want) {
        mysql::Exec(*conn, "INSERT INTO stagesync.source_columns VALUES (" + stream + ", " +
                               QuoteLiteral(table) + ", " + QuoteLiteral(column) + ")");
      }
    }
    mysql::Exec(*conn,
                "INSERT IGNORE INTO stagesync.applied_position (stream) VALUES (" + stream + ")");
    const std::string db = DatabaseOf(config);
    WarnAboutMissingTargets(
        config, source_tables,
        [&](const std::string& schema, const std::string& name) {
          return LoadMysqlTargetTable(*conn, schema, name, db);
        },
        warnings);
    conn->commit();
  } catch (const std::exception& e) {
    return Status::Error("target setup failed: " + mysql::Describe(e));
  }
  return Status::Ok();
}

Status EnsureMysqlBookkeeping(const Config& config) {
  try {
    auto conn = mysql::Connect(config.target);
    RunMysqlBookkeeping(*conn);
    mysql::Exec(*conn, "INSERT IGNORE INTO stagesync.applied_position (stream) VALUES (" +
                           mysql::QuoteLiteral(config.source.slot) + ")");
  } catch (const sql::SQLException& e) {
    return Status::Transient("target: " + mysql::Describe(e));
  }
  return Status::Ok();
}

Status CheckMysqlTargetMapping(const Config& config, const std::vector<TableShape>& source_tables,
                               std::vector<std::string>* problems) {
  std::unique_ptr<sql::Connection> conn;
  if (Status s = ConnectOrDsnProblem(config, &conn); !s.ok()) return s;
  try {
    auto bookkeeping =
        mysql::Query(*conn,
                     "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'stagesync' AND "
                     "TABLE_NAME = 'applied_position'");
    if (bookkeeping.empty()) {
      problems->push_back("the target has no stagesync bookkeeping: run `stagesync setup` first");
    }
    CheckTables(config, source_tables, *conn, /*require=*/true, problems);
  } catch (const std::exception& e) {
    return Status::Usage("target: " + mysql::Describe(e));
  }
  return Status::Ok();
}

Status CheckMysqlMappingColumns(const Config& config, const std::vector<TableShape>& source_tables,
                                std::vector<std::string>* problems) {
  std::unique_ptr<sql::Connection> conn;
  if (Status s = ConnectOrDsnProblem(config, &conn); !s.ok()) return s;
  try {
    CheckTables(config, source_tables, *conn, /*require=*/false, problems);
  } catch (const std::exception& e) {
    return Status::Usage("target: " + mysql::Describe(e));
  }
  return Status::Ok();
}

Status ResolveMysqlTargetTable(const Config& config, const TableShape& source,
                               std::optional<TableCorrespondence>* out) {
  try {
    auto conn = mysql::Connect(config.target);
    auto [schema, name] = MappedTargetName(config, source.schema, source.name);
    auto target = LoadMysqlTargetTable(*conn, schema, name, DatabaseOf(config));
    out->reset();
    if (target) *out = Correspond(config, source, *target);
  } catch (const std::exception& e) {
    return TargetError(e);
  }
  return Status::Ok();
}

Status ReadMysqlAppliedPosition(const Config& config, AppliedPosition* out) {
  try {
    auto conn = mysql::Connect(config.target);
    out->target_now = std::stoll(
        mysql::Query(*conn, "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)")[0][0]);
    auto exists = mysql::Query(*conn,
                               "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                               "'stagesync' AND TABLE_NAME = 'applied_position'");
    if (exists.empty()) return Status::Ok();
    auto r = Select(*conn,
                    "SELECT lsn, CAST(UNIX_TIMESTAMP(commit_time) * 1000000 AS SIGNED), "
                    "events_applied, transactions_applied, CAST(UNIX_TIMESTAMP(updated_at) * "
                    "1000000 AS SIGNED), CAST(UNIX_TIMESTAMP(live_at) * 1000000 AS SIGNED), "
                    "live_lag_seconds, COALESCE(live_state, ''), COALESCE(last_error, '') "
                    "FROM stagesync.applied_position WHERE stream = ?",
                    {config.source.slot});
    if (r.empty()) return Status::Ok();
    const auto& row = r[0];
    out->found = true;
    out->lsn = std::stoull(*row[0]);
    if (row[1]) out->commit_time = std::stoll(*row[1]);
    out->events_applied = std::stoull(*row[2]);
    out->transactions_applied = std::stoull(*row[3]);
    if (row[4]) out->updated_at = std::stoll(*row[4]);
    if (row[5]) out->live_at = std::stoll(*row[5]);
    if (row[6]) out->live_lag_seconds = std::stod(*row[6]);
    out->live_state = row[7].value_or("");
    out->last_error = row[8].value_or("");
  } catch (const std::exception& e) {
    return TargetError(e);
  }
  return Status::Ok();
}

Status WriteMysqlLiveStatus(const Config& config, double lag_seconds, const std::string& state,
                            const std::string& error) {
  // A short-lived connection per write (every few hundred ms) keeps this free of state.
  try {
    auto conn = mysql::Connect(config.target);
    char lag[32];
    std::snprintf(lag, sizeof lag, "%.6f", lag_seconds);
    mysql::Exec(*conn, std::string("UPDATE stagesync.applied_position SET live_lag_seconds = ") +
                           lag + ", live_state = " + QuoteLiteral(state) + ", last_error = " +
                           (error.empty() ? std::string("NULL") : QuoteLiteral(error)) +
                           ", live_at = NOW(6) WHERE stream = " + QuoteLiteral(config.source.slot));
  } catch (const std::exception& e) {
    return TargetError(e);
  }
  return Status::Ok();
}

}  // namespace stagesync::apply
