// The gtest fixture every end-to-end scenario uses: a source and a target PostgreSQL
// server shared by the tests of one fixture, and per test its own database pair, slot,
// config file and `stagesync` invocations.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pg_cluster.h"
#include "process.h"
#include "status_json.h"
#include "sync_config.h"
#include "table_digest.h"

namespace stagesync::testing {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

// Path of the binary under test (CMake passes $<TARGET_FILE:stagesync>).
std::string StagesyncBinary();
// ../shared/fixtures of the repository.
std::string FixturesDir();
// The repository (its sql/ and deploy/ files).
std::string RepoDir();

struct StatusResult {
  CommandResult command;
  std::optional<std::map<std::string, JsonValue>> json;  // nullopt if stdout is not an object
};

class SyncTest : public ::testing::Test {
 public:
  // Starts the source (with `source_settings`) and the target servers. Derived fixtures
  // that need other server settings define their own SetUpTestSuite calling this.
  static void StartClusters(std::vector<std::pair<std::string, std::string>> source_settings = {});
  static void SetUpTestSuite() { StartClusters(); }
  static void TearDownTestSuite();

 protected:
  // Creates database db_ on both servers and fills spec_ (slot and publication db_,
  // tables public.*, a free monitor port) and config_path_. Does not write the config.
  void SetUp() override;
  // Stops run_ (SIGTERM, then SIGKILL) and drops this test's slots on the source.
  void TearDown() override;

  static PgCluster& source() { return *source_; }
  static PgCluster& target() { return *target_; }

  void OnSource(const std::string& sql) const { source().Exec(db_, sql); }
  void OnTarget(const std::string& sql) const { target().Exec(db_, sql); }
  // Same DDL on both sides (target tables are created identically).
  void OnBoth(const std::string& sql) const {
    OnSource(sql);
    OnTarget(sql);
  }

  // Writes spec_ to config_path_.
  void WriteConfig() const { ::stagesync::testing::WriteConfig(config_path_, spec_); }
  // `stagesync <args...> -c config_path_`, to completion.
  CommandResult Stagesync(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = 60s) const;
  // Writes the config and runs `setup`; fails the test unless it exits 0.
  void SetupOrFail();
  // Starts `stagesync run -c config_path_` as run_ (replacing a finished one).
  Process& StartRun();
  StatusResult Status() const;

  std::string SourceWalLsn() const;  // pg_current_wal_lsn() on the source
  // Waits until every table compares equal on both sides; on timeout the failure names
  // the differing rows and carries run_'s stderr. Fails early if run_ exited.
  ::testing::AssertionResult Converges(const std::vector<TableComparison>& tables,
                                       std::chrono::milliseconds timeout = 90s);
  // Waits until `status --json` reports lag_seconds == 0 and an applied_position at or past
  // `lsn` (default: the source's current WAL position now).
  ::testing::AssertionResult CaughtUp(std::chrono::milliseconds timeout = 90s,
                                      std::optional<std::string> lsn = std::nullopt);
  // run_'s stderr (last `bytes`), for messages.
  std::string RunLog(size_t bytes = 6000) const;

  std::string db_;  // database name on both servers; also slot and publication
  SyncConfigSpec spec_;
  std::string config_path_;  // ScratchDir()/<db_>.toml
  std::unique_ptr<Process> run_;

 private:
  static std::unique_ptr<PgCluster> source_;
  static std::unique_ptr<PgCluster> target_;
};

}  // namespace stagesync::testing
