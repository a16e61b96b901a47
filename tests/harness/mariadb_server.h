// A throwaway MariaDB server on loopback for integration tests: a MySQL-family source
// (row binlog with full metadata) or target that stagesync talks to.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pg_cluster.h"  // Row, Rows
#include "process.h"

namespace stagesync::testing {

// Starts `mariadbd` in a fresh temporary directory on 127.0.0.1 and a free port, with the
// binlog on (ROW format, FULL row image and metadata, server_id 1) and fsync relaxed;
// `options` ("--name=value") are appended and so override these. The destructor kills the
// server and removes the directory. User root, no password. Throws std::runtime_error with
// the error log's tail when the server cannot be started.
class MariaDbServer {
 public:
  explicit MariaDbServer(std::vector<std::string> options = {});
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  int port() const { return port_; }
  // stagesync's dsn for database `db`: "mysql://root@127.0.0.1:PORT/db".
  std::string dsn(const std::string& db) const;

  // Runs one or more statements (multi-statement), as root or `user` (no password). Throws on
  // error.
  void Exec(const std::string& db, const std::string& sql, const std::string& user = "root") const;
  // Every value as the server's text, NULL as nullopt.
  Rows Query(const std::string& db, const std::string& sql) const;
  std::optional<std::string> QueryValue(const std::string& db, const std::string& sql) const;
  // DROP + CREATE DATABASE name.
  void CreateDatabase(const std::string& name) const;

  std::string LogTail(size_t bytes = 4000) const;
  // Stops the server cleanly, waits `down`, and starts it again on the same port and data.
  void Restart(std::chrono::milliseconds down);

 private:
  bool WaitUntilUp();
  std::string dir_;
  int port_ = 0;
  std::vector<std::string> argv_;
  std::unique_ptr<Process> server_;
};

}  // namespace stagesync::testing
