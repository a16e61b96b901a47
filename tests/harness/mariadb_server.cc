// MariaDbServer: mariadb-install-db (from a cached template), start, query, stop.
#include "mariadb_server.h"

#include <fcntl.h>
#include <mysql.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace stagesync::testing {
namespace fs = std::filesystem;
namespace {

// mariadb-install-db takes seconds; every server copies a template made once per machine.
std::string TemplateDataDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  std::string root = std::string(tmp && *tmp ? tmp : "/tmp");
  std::string tmpl = root + "/stagesync-mariadb-template";
  std::string lock_path = tmpl + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0)
    throw std::runtime_error("cannot lock " + lock_path);
  if (!fs::exists(tmpl + "/data/mysql/user.frm") &&
      !fs::exists(tmpl + "/data/mysql/global_priv.frm")) {
    fs::remove_all(tmpl);
    fs::create_directories(tmpl);
    std::vector<std::string> argv = {"/usr/bin/mariadb-install-db", "--datadir=" + tmpl + "/data",
                                     "--auth-root-authentication-method=normal", "--skip-test-db",
                                     "--no-defaults"};
    if (geteuid() == 0) argv.push_back("--user=root");
    CommandResult r = RunCommand(argv, "mariadb-install-db", std::chrono::seconds(180));
    if (r.exit_code != 0) {
      fs::remove_all(tmpl);
      flock(lock_fd, LOCK_UN);
      close(lock_fd);
      throw std::runtime_error("mariadb-install-db failed\n" + r.Describe());
    }
  }
  flock(lock_fd, LOCK_UN);
  close(lock_fd);
  return tmpl + "/data";
}

struct Conn {
  MYSQL* m = nullptr;
  Conn(int port, const std::string& db, const std::string& user = "root") {
    m = mysql_init(nullptr);
    if (!mysql_real_connect(m, "127.0.0.1", user.c_str(), "", db.empty() ? nullptr : db.c_str(),
                            port, nullptr, CLIENT_MULTI_STATEMENTS)) {
      std::string e = mysql_error(m);
      mysql_close(m);
      throw std::runtime_error("mariadb connect: " + e);
    }
    mysql_set_character_set(m, "utf8mb4");
    mysql_query(m, "SET time_zone = '+00:00'");
  }
  ~Conn() { mysql_close(m); }
  void Fail(const std::string& sql) const {
    throw std::runtime_error("mariadb: " + std::string(mysql_error(m)) +
                             "\n  in: " + sql.substr(0, 500));
  }
};

}  // namespace

MariaDbServer::MariaDbServer(std::vector<std::string> options) {
  std::string pattern = ScratchDir() + "/mariadb-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for mariadb");
  dir_ = buf.data();
  std::string tmpl = TemplateDataDirectory();
  CommandResult r = RunCommand({"/bin/cp", "-a", tmpl, dir_ + "/data"}, "cp-mariadb-template");
  if (r.exit_code != 0)
    throw std::runtime_error("copying the MariaDB template failed\n" + r.Describe());
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeTcpPort();
    std::vector<std::string> argv = {"/usr/sbin/mariadbd",
                                     "--no-defaults",
                                     "--datadir=" + dir_ + "/data",
                                     "--port=" + std::to_string(port_),
                                     "--bind-address=127.0.0.1",
                                     "--socket=" + dir_ + "/sock",
                                     "--pid-file=" + dir_ + "/mariadbd.pid",
                                     "--log-error=" + dir_ + "/error.log",
                                     "--tmpdir=" + dir_,
                                     "--log-bin=" + dir_ + "/data/binlog",
                                     "--server-id=1",
                                     "--binlog-format=ROW",
                                     "--binlog-row-image=FULL",
                                     "--binlog-row-metadata=FULL",
                                     "--skip-name-resolve",
                                     "--innodb-buffer-pool-size=64M",
                                     "--innodb-flush-log-at-trx-commit=2",
                                     "--sync-binlog=0",
                                     "--innodb-doublewrite=0",
                                     "--max-connections=100",
                                     "--character-set-server=utf8mb4",
                                     "--collation-server=utf8mb4_general_ci"};
    if (geteuid() == 0) argv.push_back("--user=root");
    argv.insert(argv.end(), options.begin(), options.end());
    server_ = std::make_unique<Process>(argv, "mariadbd");
    if (WaitUntilUp()) {
      argv_ = std::move(argv);
      return;
    }
    bool bind_failed = LogTail().find("Can't start server: Bind") != std::string::npos ||
                       LogTail().find("Address already in use") != std::string::npos;
    server_.reset();
    if (!bind_failed) break;
  }
  throw std::runtime_error("mariadbd did not start\n--- error log\n" + LogTail());
}

bool MariaDbServer::WaitUntilUp() {
  for (int i = 0; i < 300 && server_->Running(); ++i) {
    try {
      Conn c(port_, "");
      return true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return false;
}

void MariaDbServer::Restart(std::chrono::milliseconds down) {
  server_->Signal(SIGTERM);  // a clean shutdown, as a DBA's restart does
  if (!server_->Wait(std::chrono::seconds(60))) server_->Kill();
  std::this_thread::sleep_for(down);
  server_ = std::make_unique<Process>(argv_, "mariadbd");
  if (!WaitUntilUp()) throw std::runtime_error("mariadbd did not restart\n" + LogTail());
}

MariaDbServer::~MariaDbServer() {
  if (server_) server_->Kill();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string MariaDbServer::dsn(const std::string& db) const {
  return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void MariaDbServer::Exec(const std::string& db, const std::string& sql,
                         const std::string& user) const {
  Conn c(port_, db, user);
  if (mysql_query(c.m, sql.c_str())) c.Fail(sql);
  // Drain every result of a multi-statement batch; an error in a later one surfaces here.
  do {
    if (MYSQL_RES* res = mysql_store_result(c.m)) mysql_free_result(res);
    int next = mysql_next_result(c.m);
    if (next > 0) c.Fail(sql);
    if (next != 0) break;
  } while (true);
}

Rows MariaDbServer::Query(const std::string& db, const std::string& sql) const {
  Conn c(port_, db);
  if (mysql_query(c.m, sql.c_str())) c.Fail(sql);
  MYSQL_RES* res = mysql_store_result(c.m);
  Rows rows;
  if (!res) return rows;
  unsigned n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    Row out;
    for (unsigned i = 0; i < n; ++i) {
      if (row[i]) {
        out.emplace_back(std::string(row[i], lengths[i]));
      } else {
        out.emplace_back(std::nullopt);
      }
    }
    rows.push_back(std::move(out));
  }
  mysql_free_result(res);
  return rows;
}

std::optional<std::string> MariaDbServer::QueryValue(const std::string& db,
                                                     const std::string& sql) const {
  Rows rows = Query(db, sql);
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

void MariaDbServer::CreateDatabase(const std::string& name) const {
  Exec("", "DROP DATABASE IF EXISTS `" + name + "`; CREATE DATABASE `" + name + "`");
}

std::string MariaDbServer::LogTail(size_t bytes) const {
  std::string log = ReadFile(dir_ + "/error.log");
  return log.size() > bytes ? log.substr(log.size() - bytes) : log;
}

}  // namespace stagesync::testing
