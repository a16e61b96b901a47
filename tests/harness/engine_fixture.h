// Scenarios across engines: a gtest fixture around one source and one target server, each
// PostgreSQL or MariaDB, with a database per test, its config, and `stagesync` runs.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mariadb_server.h"
#include "pg_cluster.h"
#include "process.h"
#include "sync_config.h"

namespace stagesync::testing {

// One server of either engine (exactly one pointer set).
struct ServerRef {
  PgCluster* pg = nullptr;
  MariaDbServer* my = nullptr;

  std::string kind() const { return my ? "mysql" : "postgres"; }
  std::string dsn(const std::string& db) const { return my ? my->dsn(db) : pg->dsn(db); }
  void CreateDatabase(const std::string& db) const;
  void Exec(const std::string& db, const std::string& sql) const;
  Rows Query(const std::string& db, const std::string& sql) const;
};

// Rows as "v1\tv2\n…", NULL as <NULL>: what two engines' queries are compared by.
std::string JoinedRows(const Rows& rows);

// Transactions on a source database from a thread, `transaction(i)` for i = 1, 2, ..., until
// Stop() or destruction. A failed one is counted, not fatal: the scenarios kill processes.
class SourceWorkload {
 public:
  SourceWorkload(ServerRef source, std::string db, std::function<std::string(int)> transaction);
  ~SourceWorkload() { Stop(); }
  SourceWorkload(const SourceWorkload&) = delete;
  SourceWorkload& operator=(const SourceWorkload&) = delete;
  void Stop();
  int committed() const { return committed_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> committed_{0};
  std::thread thread_;
};

class EngineSyncTest : public ::testing::Test {
 protected:
  // Names db_ "<prefix><test name>", creates it on both servers and fills spec_ and
  // config_path_ for them (a MySQL source gets its own server_id and tables db_.*).
  void Prepare(ServerRef source, ServerRef target, const std::string& prefix);
  // Stops run_; on a PostgreSQL source drops the test's slots.
  void TearDown() override;

  void OnSource(const std::string& sql) const { source_.Exec(db_, sql); }
  void OnTarget(const std::string& sql) const { target_.Exec(db_, sql); }

  // `stagesync <args...> -c config_path_`, to completion.
  CommandResult Stagesync(const std::vector<std::string>& args) const;
  // Writes the config and runs `setup`; fails the test unless it exits 0.
  void SetupOrFail();
  // Starts `stagesync run` as run_ (killing a running one first).
  void StartRun();
  // `stagesync <command> -c config_path_` in the background (capture, apply).
  std::unique_ptr<Process> Start(const std::string& command,
                                 const std::vector<std::string>& flags = {}) const;
  // `rounds` times, `every` apart: kill -9 `process` and start `command` again in its place.
  void KillAndRestart(std::unique_ptr<Process>& process, const std::string& command, int rounds,
                      std::chrono::milliseconds every) const;
  // Adds [stream] for Kafka at `brokers`, topics under db_.
  void UseKafka(const std::string& brokers, bool schemas_enable);
  std::string RunLog() const { return run_ ? run_->Stderr() : ""; }

  // Waits until the two queries give the same rows, as text; fails early if run_ exited.
  ::testing::AssertionResult Converges(
      const std::string& source_query, const std::string& target_query,
      std::chrono::milliseconds timeout = std::chrono::seconds(90));

  ServerRef source_, target_;
  std::string db_;
  SyncConfigSpec spec_;
  std::string config_path_;
  std::unique_ptr<Process> run_;
};

}  // namespace stagesync::testing
