// PgCluster: initdb (from a cached template), start, query, stop.
#include "pg_cluster.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <stdexcept>
#include <thread>

#include "process.h"

namespace stagesync::testing {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

bool RunningAsRoot() {
  return geteuid() == 0;
}

void ChownToPostgres(const std::string& path) {
  if (!RunningAsRoot()) return;
  passwd* pw = getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("running as root but OS user postgres is missing");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown postgres " + path + " failed");
  }
}

// initdb costs a second or two; every cluster of every test copies one initialised once per
// machine instead. A file lock makes concurrent test processes (ctest -j) agree on it.
std::string TemplateDataDirectory(const std::vector<std::string>& as_postgres_prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string root = std::string(tmp && *tmp ? tmp : "/tmp");
  std::string tmpl = root + "/stagesync-pg15-initdb-template" + (RunningAsRoot() ? "" : "-user");
  std::string lock_path = tmpl + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
    throw std::runtime_error("cannot lock " + lock_path);
  }
  if (!fs::exists(tmpl + "/data/PG_VERSION")) {
    fs::remove_all(tmpl);
    fs::create_directories(tmpl);
    ChownToPostgres(tmpl);
    std::vector<std::string> argv = as_postgres_prefix;
    for (const char* a : {"initdb", "-D", "", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--locale=C", "--no-sync"}) {
      argv.push_back(a);
    }
    argv[as_postgres_prefix.size()] = PgBin("initdb");
    argv[as_postgres_prefix.size() + 2] = tmpl + "/data";
    CommandResult r = RunCommand(argv, "initdb", std::chrono::seconds(120));
    if (r.exit_code != 0) {
      fs::remove_all(tmpl);
      flock(lock_fd, LOCK_UN);
      close(lock_fd);
      throw std::runtime_error("initdb failed\n" + r.Describe());
    }
  }
  flock(lock_fd, LOCK_UN);
  close(lock_fd);
  return tmpl + "/data";
}

}  // namespace

std::string PgBin(const std::string& program) {
  return std::string(kPgBinDir) + "/" + program;
}

std::vector<std::string> PgCluster::AsPostgres(std::vector<std::string> argv) const {
  if (!RunningAsRoot()) return argv;
  std::vector<std::string> full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

PgCluster::PgCluster(std::vector<std::pair<std::string, std::string>> settings) {
  std::string pattern = ScratchDir() + "/pg-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for cluster");
  dir_ = buf.data();
  data_dir_ = dir_ + "/data";
  // The scratch dir is root's 0700 mkdtemp dir; postgres must be able to reach its own.
  fs::permissions(ScratchDir(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  ChownToPostgres(dir_);
  try {
    PrepareDataDirectory();
    Start(settings);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PgCluster::~PgCluster() {
  if (started_) {
    RunCommand(AsPostgres({PgBin("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "stop"}),
               "pg_ctl-stop", std::chrono::seconds(60));
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgCluster::PrepareDataDirectory() {
  std::vector<std::string> prefix = AsPostgres({});
  std::string tmpl = TemplateDataDirectory(prefix);
  // cp -a keeps owner and the 0700 mode PostgreSQL insists on.
  CommandResult r = RunCommand({"/bin/cp", "-a", tmpl, data_dir_}, "cp-template");
  if (r.exit_code != 0)
    throw std::runtime_error("copying the initdb template failed\n" + r.Describe());
}

void PgCluster::Restart(std::chrono::milliseconds down) {
  CommandResult stop = RunCommand(
      AsPostgres({PgBin("pg_ctl"), "-D", data_dir_, "-m", "fast", "-w", "-t", "60", "stop"}),
      "pg_ctl-stop", std::chrono::seconds(90));
  if (stop.exit_code != 0) throw std::runtime_error("pg_ctl stop failed\n" + stop.Describe());
  std::this_thread::sleep_for(down);
  CommandResult start = RunCommand(AsPostgres({PgBin("pg_ctl"), "-D", data_dir_, "-l",
                                               dir_ + "/server.log", "-w", "-t", "60", "start"}),
                                   "pg_ctl-start", std::chrono::seconds(90));
  if (start.exit_code != 0)
    throw std::runtime_error("pg_ctl restart failed\n" + start.Describe() + "\n" + LogTail());
}

void PgCluster::Start(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::vector<std::pair<std::string, std::string>> conf = {
      {"listen_addresses", "'127.0.0.1'"},
      {"unix_socket_directories", "'" + dir_ + "'"},
      {"wal_level", "logical"},
      {"max_wal_senders", "10"},
      {"max_replication_slots", "10"},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"shared_buffers", "32MB"},
      {"max_connections", "60"},
      {"log_line_prefix", "'%m [%p] %d '"},
  };
  conf.insert(conf.end(), settings.begin(), settings.end());
  // A port can be taken between FreeTcpPort() and the bind; retry a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeTcpPort();
    std::string text = "\n# stagesync test harness\nport = " + std::to_string(port_) + "\n";
    for (const auto& [key, value] : conf) text += key + " = " + value + "\n";
    std::string original = ReadFile(data_dir_ + "/postgresql.conf.orig");
    if (original.empty()) {
      original = ReadFile(data_dir_ + "/postgresql.conf");
      WriteFile(data_dir_ + "/postgresql.conf.orig", original);
      ChownToPostgres(data_dir_ + "/postgresql.conf.orig");
    }
    WriteFile(data_dir_ + "/postgresql.conf", original + text);
    CommandResult r = RunCommand(AsPostgres({PgBin("pg_ctl"), "-D", data_dir_, "-l",
                                             dir_ + "/server.log", "-w", "-t", "60", "start"}),
                                 "pg_ctl-start", std::chrono::seconds(90));
    if (r.exit_code == 0) {
      started_ = true;
      break;
    }
    if (LogTail().find("could not bind") == std::string::npos) {
      throw std::runtime_error("pg_ctl start failed\n" + r.Describe() + "\n--- server log\n" +
                               LogTail());
    }
  }
  if (!started_) throw std::runtime_error("pg_ctl start: no free port\n" + LogTail());
  // pg_ctl -w returns once the server accepts connections; double-check over TCP.
  for (int i = 0;; ++i) {
    try {
      QueryValue("postgres", "SELECT 1");
      return;
    } catch (const std::exception& e) {
      if (i >= 100) throw std::runtime_error(std::string("server not ready: ") + e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::string PgCluster::dsn(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db;
}

void PgCluster::Exec(const std::string& db, const std::string& sql) const {
  pqxx::connection conn(dsn(db));
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

Rows PgCluster::Query(const std::string& db, const std::string& sql) const {
  pqxx::connection conn(dsn(db));
  pqxx::nontransaction tx(conn);
  pqxx::result result = tx.exec(sql);
  Rows rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    Row out;
    out.reserve(row.size());
    for (const auto& field : row) {
      if (field.is_null()) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
    rows.push_back(std::move(out));
  }
  return rows;
}

std::optional<std::string> PgCluster::QueryValue(const std::string& db,
                                                 const std::string& sql) const {
  Rows rows = Query(db, sql);
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

void PgCluster::CreateDatabase(const std::string& name) const {
  Exec("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  Exec("postgres", "CREATE DATABASE \"" + name + "\"");
}

std::string PgCluster::LogTail(size_t bytes) const {
  std::string log = ReadFile(dir_ + "/server.log");
  return log.size() > bytes ? log.substr(log.size() - bytes) : log;
}

}  // namespace stagesync::testing
