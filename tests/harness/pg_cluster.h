// A throwaway PostgreSQL 15 server on loopback for integration tests: the source or the
// target that stagesync talks to.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stagesync::testing {

using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

// Starts a private PostgreSQL server in a fresh temporary directory on 127.0.0.1 and a free
// port; the destructor stops it (`pg_ctl stop -m immediate`) and removes the directory.
// Defaults are what logical replication needs (wal_level=logical, 10 WAL senders and
// slots) plus fsync=off; `settings` are appended after them and so override them.
// When running as root, the server runs as OS user `postgres` (initdb refuses root).
// Authentication is `trust`; superuser `postgres`. Each helper call opens its own
// connection, so a PgCluster may be used from several threads. Throws std::runtime_error
// (with the server log's tail) when the server cannot be started.
class PgCluster {
 public:
  explicit PgCluster(std::vector<std::pair<std::string, std::string>> settings = {});
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // libpq conninfo for database `db`: "host=127.0.0.1 port=N user=postgres dbname=db".
  std::string dsn(const std::string& db = "postgres") const;

  // Runs one or more SQL statements outside a transaction block (so CREATE DATABASE and
  // multi-statement scripts work). Throws on error.
  void Exec(const std::string& db, const std::string& sql) const;
  // Runs a query; every value as text, NULL as nullopt.
  Rows Query(const std::string& db, const std::string& sql) const;
  // First column of the first row (nullopt for NULL or no row).
  std::optional<std::string> QueryValue(const std::string& db, const std::string& sql) const;
  // CREATE DATABASE name (dropping an existing one of that name first).
  void CreateDatabase(const std::string& name) const;

  // Last `bytes` of the server log, for failure messages.
  std::string LogTail(size_t bytes = 4000) const;
  // Stops the server (fast shutdown, as a DBA's restart does), waits `down`, and starts it
  // again on the same port and data.
  void Restart(std::chrono::milliseconds down);

 private:
  void PrepareDataDirectory();
  void Start(const std::vector<std::pair<std::string, std::string>>& settings);
  std::vector<std::string> AsPostgres(std::vector<std::string> argv) const;

  std::string dir_;       // owned temp dir: data/, server.log, the unix socket
  std::string data_dir_;  // dir_/data
  int port_ = 0;
  bool started_ = false;
};

// Path of a PostgreSQL 15 client/server program, e.g. PgBin("pg_dump").
std::string PgBin(const std::string& program);

}  // namespace stagesync::testing
