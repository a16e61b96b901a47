// The fence, the marker and the source counters, for PostgreSQL and MySQL/MariaDB sources.
#include "production.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "stagesync/capture.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"

extern char** environ;

namespace stagesync::cutover {
namespace {

// The marker is a row of the heartbeat table: apply already passes heartbeat transactions
// through to the applied position without writing them anywhere.
constexpr int kMarkerId = 2;

// " AND <column> IN ('a', 'b')" for cutover.fence_roles, "" when every session is ended.
template <typename Quote>
std::string OnlyFenceRoles(const Config& config, const std::string& column, Quote quote) {
  if (config.cutover.fence_roles.empty()) return "";
  std::string list;
  for (const auto& r : config.cutover.fence_roles) list += (list.empty() ? "" : ", ") + quote(r);
  return " AND " + column + " IN (" + list + ")";
}

class PostgresProduction : public Production {
 public:
  explicit PostgresProduction(const Config& config)
      : config_(config), conn_(pg::Connect(config.source, "stagesync-cutover")) {
    pqxx::nontransaction tx(*conn_);
    // Our own writes (the marker) must pass the fence.
    tx.exec0("SET default_transaction_read_only = off");
    database_ = tx.exec1("SELECT current_database()")[0].as<std::string>();
  }

  std::vector<std::string> CheckPrivileges() override {
    std::vector<std::string> problems;
    pqxx::nontransaction tx(*conn_);
    auto r = tx.exec1(
        "SELECT r.rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER'), "
        "r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'), current_user "
        "FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = "
        "current_user");
    std::string user = r[2].as<std::string>();
    if (config_.cutover.fence == FenceMode::kReadOnly && !r[0].as<bool>()) {
      problems.push_back("cutover.fence = \"read-only\" needs ALTER DATABASE on " + database_ +
                         ": run it as the database owner, or GRANT the owner role to " + user +
                         " (or use fence = \"command\")");
    }
    if (config_.cutover.fence == FenceMode::kReadOnly && !r[1].as<bool>()) {
      problems.push_back(
          "ending the application sessions needs pg_signal_backend: GRANT "
          "pg_signal_backend TO " +
          user);
    }
    return problems;
  }

  std::string Fence() override {
    pqxx::nontransaction tx(*conn_);
    auto prev = tx.exec_params(
        "SELECT substr(c, length('default_transaction_read_only=') + 1) FROM pg_db_role_setting "
        "s, unnest(s.setconfig) c, pg_database d WHERE s.setdatabase = d.oid AND s.setrole = 0 "
        "AND d.datname = current_database() AND c LIKE 'default_transaction_read_only=%'");
    previous_ = prev.empty() ? std::nullopt : std::optional(prev[0][0].as<std::string>());
    tx.exec0("ALTER DATABASE " + pg::QuoteIdent(database_) +
             " SET default_transaction_read_only = on");
    fenced_ = true;
    // Sessions opened before the ALTER keep their default: end them, and wait until they are
    // gone, so nothing of theirs can commit after the marker.
    std::string who =
        "datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client "
        "backend' AND application_name NOT LIKE 'stagesync%'" +
        OnlyFenceRoles(config_, "usename",
                       [](const std::string& r) { return pg::QuoteLiteral(r); });
    auto ended =
        tx.exec("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + who);
    std::string pids;
    for (const auto& row : ended) pids += (pids.empty() ? "" : ", ") + row[0].as<std::string>();
    for (int i = 0; !pids.empty() && i < 100; ++i) {
      if (tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + pids + ")")[0]
              .as<int64_t>() == 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "database " + database_ + " read-only; " + std::to_string(ended.size()) +
           " application session" + (ended.size() == 1 ? "" : "s") + " ended";
  }

  std::string Unfence() override {
    if (!fenced_) return "not fenced";
    pqxx::nontransaction tx(*conn_);
    std::string db = pg::QuoteIdent(database_);
    if (previous_) {
      tx.exec0("ALTER DATABASE " + db +
               " SET default_transaction_read_only = " + pg::QuoteLiteral(*previous_));
    } else {
      tx.exec0("ALTER DATABASE " + db + " RESET default_transaction_read_only");
    }
    fenced_ = false;
    return "database " + database_ + " writable again";
  }

  Lsn WriteMarker() override {
    pqxx::work tx(*conn_);
    tx.exec0("INSERT INTO " + pg::QualifiedIdent(kSourceSchema, kHeartbeatTable) + " VALUES (" +
             std::to_string(kMarkerId) +
             ", clock_timestamp()) ON CONFLICT (id) DO UPDATE SET ts = excluded.ts");
    // Taken inside the marker's transaction, after everything committed before the fence: an
    // applied commit ending past it comes after all of those.
    auto lsn = tx.exec1("SELECT pg_current_wal_insert_lsn()")[0].as<std::string>();
    tx.commit();
    return ParseLsn(lsn).value_or(0);
  }

  std::vector<SourceCounter> Counters(const std::vector<TableShape>& tables) override {
    std::set<std::string> selected, schemas;
    for (const auto& t : tables) {
      selected.insert(t.QualifiedName());
      schemas.insert(t.schema);
    }
    pqxx::nontransaction tx(*conn_);
    auto rows = tx.exec(
        "SELECT n.nspname, c.relname, tn.nspname, t.relname, a.attname, s.last_value "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = c.relname "
        "LEFT JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass "
        "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "LEFT JOIN pg_class t ON t.oid = d.refobjid "
        "LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE c.relkind = 'S' ORDER BY 1, 2");
    std::vector<SourceCounter> out;
    for (const auto& r : rows) {
      SourceCounter c;
      c.schema = r[0].as<std::string>();
      c.name = r[1].as<std::string>();
      if (!r[3].is_null()) {
        if (!selected.count(r[2].as<std::string>() + "." + r[3].as<std::string>())) continue;
        c.table = r[3].as<std::string>();
        c.column = r[4].as<std::string>();
      } else if (!schemas.count(c.schema)) {
        continue;
      }
      if (!r[5].is_null()) c.last_value = r[5].as<int64_t>();
      out.push_back(std::move(c));
    }
    return out;
  }

 private:
  const Config& config_;
  std::unique_ptr<pqxx::connection> conn_;
  std::string database_;
  std::optional<std::string> previous_;
  bool fenced_ = false;
};

class MysqlProduction : public Production {
 public:
  explicit MysqlProduction(const Config& config)
      : config_(config), conn_(mysql::Connect(config.source)) {
    // SET GLOBAL read_only waits for open transactions; do not wait for ever.
    mysql::Exec(*conn_, "SET SESSION lock_wait_timeout = 10");
  }

  std::vector<std::string> CheckPrivileges() override {
    std::vector<std::string> problems;
    bool super = false;
    for (const auto& row : mysql::Query(*conn_, "SHOW GRANTS")) {
      const std::string& g = row[0];
      if (g.find("ALL PRIVILEGES ON *.*") != std::string::npos ||
          g.find("SUPER") != std::string::npos || g.find("READ_ONLY ADMIN") != std::string::npos) {
        super = true;
      }
    }
    if (!super) {
      std::string user = mysql::Query(*conn_, "SELECT CURRENT_USER()")[0][0];
      problems.push_back(
          "the cutover writes its marker while production is read-only, which needs READ_ONLY "
          "ADMIN (MariaDB) or SUPER: GRANT READ_ONLY ADMIN ON *.* TO " +
          user + " (and CONNECTION ADMIN to end sessions)");
    }
    return problems;
  }

  std::string Fence() override {
    previous_ = mysql::Query(*conn_, "SELECT @@GLOBAL.read_only")[0][0];
    // End the sessions first (an open transaction would hold up read_only), then again after
    // it, for those that connected in between. stagesync's own sessions (capture, heartbeat)
    // stay: each holds its session lock.
    size_t ended = EndSessions();
    mysql::Exec(*conn_, "SET GLOBAL read_only = ON");
    fenced_ = true;
    ended += EndSessions();
    return "read_only = ON; " + std::to_string(ended) + " application session" +
           (ended == 1 ? "" : "s") + " ended";
  }

  std::string Unfence() override {
    if (!fenced_) return "not fenced";
    mysql::Exec(*conn_, "SET GLOBAL read_only = " + std::string(previous_ == "1" ? "ON" : "OFF"));
    fenced_ = false;
    return previous_ == "1" ? "read_only left ON (as it was)" : "read_only = OFF again";
  }

  Lsn WriteMarker() override {
    mysql::Exec(*conn_, "INSERT INTO " + mysql::QualifiedIdent(kSourceSchema, kHeartbeatTable) +
                            " VALUES (" + std::to_string(kMarkerId) +
                            ", NOW(6)) ON DUPLICATE KEY UPDATE ts = VALUES(ts)");
    // Autocommit: the binlog's end now is at or past the end of the marker's transaction.
    auto status = mysql::Query(*conn_, "SHOW MASTER STATUS");
    if (status.empty()) throw std::runtime_error("SHOW MASTER STATUS is empty: is log_bin on?");
    return mysql::PositionFrom(mysql::FileSequence(status[0][0]),
                               static_cast<uint32_t>(std::stoul(status[0][1])));
  }

  std::vector<SourceCounter> Counters(const std::vector<TableShape>& tables) override {
    std::set<std::string> selected, schemas;
    for (const auto& t : tables) {
      selected.insert(t.QualifiedName());
      schemas.insert(t.schema);
    }
    std::vector<SourceCounter> out;
    for (const auto& a : MysqlAutoIncrements(*conn_, schemas)) {
      if (!selected.count(a.schema + "." + a.table)) continue;
      out.push_back(SourceCounter{a.schema, a.table, a.table, a.column, a.next - 1});
    }
    return out;
  }

 private:
  size_t EndSessions() {
    std::string sql =
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND "
        "NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Killed') AND USER NOT IN "
        "('system user', 'event_scheduler', 'unauthenticated user') AND IS_USED_LOCK(CONCAT(" +
        mysql::QuoteLiteral(mysql::kSessionLockPrefix) + ", ID)) IS NULL" +
        OnlyFenceRoles(config_, "USER",
                       [](const std::string& r) { return mysql::QuoteLiteral(r); });
    size_t n = 0;
    for (const auto& row : mysql::Query(*conn_, sql)) {
      try {
        mysql::Exec(*conn_, "KILL CONNECTION " + row[0]);
        ++n;
      } catch (const sql::SQLException& e) {
        if (e.getErrorCode() != 1094) throw;  // 1094: already gone
      }
    }
    return n;
  }

  const Config& config_;
  std::unique_ptr<sql::Connection> conn_;
  std::string previous_;
  bool fenced_ = false;
};

}  // namespace

std::unique_ptr<Production> Production::Open(const Config& config) {
  if (config.source.kind == Engine::kMysql) return std::make_unique<MysqlProduction>(config);
  return std::make_unique<PostgresProduction>(config);
}

std::vector<AutoIncrement> MysqlAutoIncrements(sql::Connection& conn,
                                               const std::set<std::string>& schemas) {
  std::vector<AutoIncrement> out;
  if (schemas.empty()) return out;
  std::string in;
  for (const auto& s : schemas) in += (in.empty() ? "" : ", ") + mysql::QuoteLiteral(s);
  for (const auto& row :
       mysql::Query(conn,
                    "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, c.COLUMN_NAME, t.AUTO_INCREMENT FROM "
                    "information_schema.TABLES t JOIN information_schema.COLUMNS c ON "
                    "c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.EXTRA "
                    "LIKE '%auto_increment%' WHERE t.TABLE_SCHEMA IN (" +
                        in + ") AND t.AUTO_INCREMENT IS NOT NULL")) {
    out.push_back(AutoIncrement{row[0], row[1], row[2], std::stoll(row[3])});
  }
  return out;
}

int RunShell(const std::string& command, const std::vector<std::string>& env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) vars.emplace_back(*e);
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The command's output goes to stderr: stdout is for the report (--json).
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  std::string sh = "/bin/sh", c = "-c", cmd = command;
  char* argv[] = {sh.data(), c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace stagesync::cutover
