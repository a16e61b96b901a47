// Secrets never appear in logs, `status` output or the process list (CONTRACT.md): a canary
// password, written in every dsn spelling a user may choose, against servers that really ask
// for it, must not show up in anything a command prints, serves or stores — through errors
// that name the dsn, a password rotation under a running `run`, and a restart with the new one.
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <thread>
#include <tuple>

#include "http_get.h"
#include "mariadb_server.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

namespace http = boost::beast::http;

// Every spelling below carries one of these; no output may contain the marker.
constexpr const char* kMarker = "CANARY";
const std::string kPassword = "zq9-CANARY-pw CANARY-7";
const std::string kRotated = "zq9-CANARY-rotated CANARY-8";
const std::string kRole = "stagesync_auth";

std::string PercentEncoded(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string BackslashSpaces(const std::string& s) {
  std::string out;
  for (char c : s) out += c == ' ' ? std::string("\\ ") : std::string(1, c);
  return out;
}

// The PostgreSQL spellings: conninfo quoted, conninfo with spaces around '=' and an escaped
// space, the URI's ?password= (the README's form), the URI's user:password@, password_file.
const std::vector<std::string> kPgSpellings = {"quoted", "spaced", "uri_query", "uri_userinfo",
                                               "password_file"};

std::string PgDsn(const std::string& spelling, int port, const std::string& db,
                  const std::string& pw) {
  std::string p = std::to_string(port);
  if (spelling == "quoted")
    return "host=127.0.0.1 port=" + p + " dbname=" + db + " user=" + kRole + " password='" + pw +
           "'";
  if (spelling == "spaced")
    return "host = 127.0.0.1 port = " + p + " dbname = " + db + " user = " + kRole +
           " password = " + BackslashSpaces(pw);
  if (spelling == "uri_query")
    return "postgresql://" + kRole + "@127.0.0.1:" + p + "/" + db +
           "?password=" + PercentEncoded(pw);
  if (spelling == "uri_userinfo")
    return "postgres://" + kRole + ":" + PercentEncoded(pw) + "@127.0.0.1:" + p + "/" + db;
  return "host=127.0.0.1 port=" + p + " dbname=" + db + " user=" + kRole;  // password_file
}

std::string MyDsn(const std::string& spelling, int port, const std::string& db,
                  const std::string& pw) {
  std::string base = "mysql://" + kRole;
  if (spelling == "uri_userinfo") base += ":" + PercentEncoded(pw);
  base += "@127.0.0.1:" + std::to_string(port) + "/" + db;
  return spelling == "uri_query" ? base + "?password=" + PercentEncoded(pw) : base;
}

// Everything that left the processes, labelled, checked at once so one run lists every leak.
class Outputs {
 public:
  void Add(const std::string& label, const std::string& text) { items_.emplace_back(label, text); }
  void Add(const std::string& label, const CommandResult& r) {
    Add(label + " [" + r.command + "] stdout", r.out);
    Add(label + " [" + r.command + "] stderr", r.err);
  }
  ::testing::AssertionResult NoCanary() const {
    std::string leaks;
    for (const auto& [label, text] : items_) {
      if (text.find(kMarker) != std::string::npos) leaks += "--- " + label + ":\n" + text + "\n";
    }
    if (leaks.empty()) return ::testing::AssertionSuccess() << items_.size() << " outputs clean";
    return ::testing::AssertionFailure() << "the password leaked into:\n" << leaks;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

std::string RowsText(const Rows& rows) {
  std::string out;
  for (const Row& row : rows) {
    for (const auto& v : row) out += v.value_or("<NULL>") + "\t";
    out += "\n";
  }
  return out;
}

// The process list: the command lines and environments of `pid` and its children.
std::string ProcessList(pid_t pid) {
  std::string out = ReadFile("/proc/" + std::to_string(pid) + "/cmdline") + "\n" +
                    ReadFile("/proc/" + std::to_string(pid) + "/environ") + "\n";
  CommandResult ps = RunCommand({"/bin/ps", "-eo", "pid,ppid,args"}, "ps", 30s);
  return out + ps.out;
}

// PostgreSQL servers that ask kRole for a password (scram-sha-256) while the harness's own
// superuser keeps `trust`.
class SecretsTest : public SyncTest {
 public:
  static void SetUpTestSuite() {
    StartClusters();
    for (PgCluster* c : {&source(), &target()}) {
      const std::string hba = c->dir() + "/data/pg_hba.conf";
      WriteFile(hba, "host all " + kRole + " 127.0.0.1/32 scram-sha-256\nhost replication " +
                         kRole + " 127.0.0.1/32 scram-sha-256\n" + ReadFile(hba));
      c->Exec("postgres", "CREATE ROLE " + kRole + " SUPERUSER REPLICATION LOGIN PASSWORD '" +
                              kPassword + "'; SELECT pg_reload_conf()");
    }
  }

 protected:
  // Points both endpoints at `spelling` with `pw`, on `source_port`/`target_port` and the
  // target database `target_db`.
  void UseSpelling(const std::string& spelling, const std::string& pw, int source_port,
                   int target_port, const std::string& target_db) {
    spec_.source_dsn = PgDsn(spelling, source_port, db_, pw);
    spec_.target_dsn = PgDsn(spelling, target_port, target_db, pw);
    spec_.source_password_file.clear();
    spec_.target_password_file.clear();
    if (spelling == "password_file") {
      const std::string file = ScratchDir() + "/" + db_ + ".pw";
      WriteFile(file, pw + "\n");
      spec_.source_password_file = spec_.target_password_file = file;
    }
    WriteConfig();
  }
};

TEST_F(SecretsTest, errors_that_name_the_dsn_never_show_the_password) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  Outputs outputs;
  for (const std::string& spelling : kPgSpellings) {
    // The target unreachable; then a target database that does not exist.
    for (const auto& [label, port, target_db] :
         std::vector<std::tuple<std::string, int, std::string>>{
             {"unreachable", 1, db_}, {"no such database", target().port(), "nosuch_db"}}) {
      UseSpelling(spelling, kPassword, source().port(), port, target_db);
      for (const std::vector<std::string>& args :
           std::vector<std::vector<std::string>>{{"setup"},
                                                 {"status"},
                                                 {"status", "--json"},
                                                 {"verify"},
                                                 {"cutover", "--dry-run", "--timeout", "1s"},
                                                 {"run"},
                                                 {"teardown"}}) {
        CommandResult r = Stagesync(args, 60s);
        if (args[0] == "setup") {
          EXPECT_NE(r.exit_code, 0) << r.Describe();
        }
        outputs.Add(spelling + ", " + label, r);
      }
    }
  }
  EXPECT_TRUE(outputs.NoCanary());
}

// The README's form (?password=) through a whole session: setup, run with the monitor,
// status, verify, a dry-run cutover; then the password rotated on the target under the
// running `run`, and `run` restarted with the new one; last the error stored on the target.
TEST_F(SecretsTest, a_session_and_a_password_rotation_never_show_the_password) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY, v text)");
  Outputs outputs;
  UseSpelling("uri_query", kPassword, source().port(), target().port(), db_);
  CommandResult setup = Stagesync({"setup"});
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();
  outputs.Add("setup", setup);
  StartRun();
  OnSource("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 20) g");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  ASSERT_TRUE(CaughtUp());
  outputs.Add("status --json", Status().command);
  outputs.Add("verify", Stagesync({"verify", "--checksum"}));
  outputs.Add("cutover --dry-run", Stagesync({"cutover", "--dry-run", "--json"}));
  Reply live = Get(spec_.monitor_listen, "/status");
  EXPECT_EQ(live.status, 200) << live.body;
  outputs.Add("GET /status", live.body);
  outputs.Add("GET /metrics", Get(spec_.monitor_listen, "/metrics").body);

  // The process list and what the servers show of our sessions.
  outputs.Add("process list", ProcessList(run_->pid()));
  for (PgCluster* c : {&source(), &target()}) {
    outputs.Add("pg_stat_activity",
                RowsText(c->Query("postgres",
                                  "SELECT application_name, usename, query FROM "
                                  "pg_stat_activity WHERE usename = '" +
                                      kRole + "'")));
  }

  // Rotated on the target: `run` still holds the old password, and every fresh connection
  // the monitor's /status opens is refused, with an error that names the dsn.
  target().Exec("postgres", "ALTER ROLE " + kRole + " PASSWORD '" + kRotated + "'");
  Reply refused;
  for (int i = 0; i < 100; ++i) {
    refused = Get(spec_.monitor_listen, "/status");
    if (refused.body.find("authentication failed") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(refused.body.find("authentication failed"), std::string::npos) << refused.body;
  outputs.Add("GET /status after the rotation", refused.body);
  outputs.Add("status --json after the rotation", Status().command);

  // Restarted with the new password (the target's) in the config.
  run_->Signal(SIGTERM);
  run_->Wait(30s);
  outputs.Add("run before the restart", run_->Stderr());
  spec_.target_dsn = PgDsn("uri_query", target().port(), db_, kRotated);
  WriteConfig();
  StartRun();
  OnSource("INSERT INTO t VALUES (21, 'after')");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  outputs.Add("GET /status after the restart", Get(spec_.monitor_listen, "/status").body);
  outputs.Add("process list after the restart", ProcessList(run_->pid()));

  // Stops on an error (the target table dropped under it): the error is stored on the target.
  OnTarget("DROP TABLE t");
  OnSource("INSERT INTO t VALUES (22, 'lost')");
  run_->Wait(60s);
  outputs.Add("run after the restart", run_->Stderr());
  outputs.Add("status --json after the error", Status().command);
  const std::string last_error =
      target()
          .QueryValue(db_,
                      "SELECT string_agg(coalesce(last_error, ''), ' ') FROM "
                      "stagesync.applied_position")
          .value_or("");
  EXPECT_FALSE(last_error.empty()) << "run should have stopped on the dropped table\n" << RunLog();
  outputs.Add("applied_position.last_error", last_error);
  outputs.Add("teardown", Stagesync({"teardown"}));
  EXPECT_TRUE(outputs.NoCanary());
}

// MariaDB asks kRole for a password too (mysql_native_password): both mysql:// spellings, as
// source and target, through errors and a session.
class SecretsMariaDbTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    server_ = std::make_unique<MariaDbServer>();
    server_->Exec("", "CREATE USER '" + kRole + "'@'%' IDENTIFIED BY '" + kPassword +
                          "'; GRANT ALL PRIVILEGES ON *.* TO '" + kRole +
                          "'@'%' WITH GRANT OPTION");
  }
  static void TearDownTestSuite() { server_.reset(); }

 protected:
  static std::unique_ptr<MariaDbServer> server_;
};
std::unique_ptr<MariaDbServer> SecretsMariaDbTest::server_;

TEST_F(SecretsMariaDbTest, errors_and_a_session_never_show_the_password) {
  Outputs outputs;
  int server_id = 7100;
  for (const std::string& spelling : std::vector<std::string>{"uri_userinfo", "uri_query"}) {
    const std::string src = "secrets_src_" + spelling, dst = "secrets_dst_" + spelling;
    server_->CreateDatabase(src);
    server_->CreateDatabase(dst);
    server_->Exec(src, "CREATE TABLE t (id INT PRIMARY KEY)");
    server_->Exec(dst, "CREATE TABLE t (id INT PRIMARY KEY)");
    SyncConfigSpec spec;
    spec.source_kind = spec.target_kind = "mysql";
    spec.server_id = std::to_string(++server_id);
    spec.tables = {src + ".*"};
    spec.slot = src;
    spec.monitor_listen = "127.0.0.1:" + std::to_string(FreeTcpPort());
    spec.extra_toml = "[mapping]\n\"" + src + ".*\" = { table = \"" + dst + ".*\" }\n";
    const std::string config = ScratchDir() + "/" + src + ".toml";
    auto stagesync = [&](std::vector<std::string> args) {
      args.insert(args.begin(), StagesyncBinary());
      args.push_back("-c");
      args.push_back(config);
      return RunCommand(args, "stagesync-" + args[1], 60s);
    };
    spec.source_dsn = MyDsn(spelling, server_->port(), src, kPassword);
    for (const auto& [label, port, target_db] :
         std::vector<std::tuple<std::string, int, std::string>>{
             {"unreachable", 1, dst}, {"no such database", server_->port(), "nosuch_db"}}) {
      spec.target_dsn = MyDsn(spelling, port, target_db, kPassword);
      WriteConfig(config, spec);
      for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
               {"setup"}, {"status", "--json"}, {"verify"}, {"run"}}) {
        outputs.Add(spelling + ", " + label, stagesync(args));
      }
    }
    spec.target_dsn = MyDsn(spelling, server_->port(), dst, kPassword);
    WriteConfig(config, spec);
    CommandResult setup = stagesync({"setup"});
    EXPECT_EQ(setup.exit_code, 0) << setup.Describe();
    outputs.Add(spelling + ", session", setup);
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"status", "--json"}, {"verify"}, {"teardown"}}) {
      outputs.Add(spelling + ", session", stagesync(args));
    }
  }
  EXPECT_TRUE(outputs.NoCanary());
}

}  // namespace
}  // namespace stagesync::testing
