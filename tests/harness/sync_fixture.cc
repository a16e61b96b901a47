// SyncTest: shared servers, per-test databases, stagesync invocations and waits.
#include "sync_fixture.h"

#include <signal.h>

#include <cctype>
#include <thread>

namespace stagesync::testing {

std::unique_ptr<PgCluster> SyncTest::source_;
std::unique_ptr<PgCluster> SyncTest::target_;

std::string StagesyncBinary() {
  return STAGESYNC_BIN;
}
std::string FixturesDir() {
  return STAGESYNC_FIXTURES_DIR;
}

std::string RepoDir() {
  return STAGESYNC_REPO_DIR;
}

void SyncTest::StartClusters(std::vector<std::pair<std::string, std::string>> source_settings) {
  if (!source_) source_ = std::make_unique<PgCluster>(std::move(source_settings));
  if (!target_) target_ = std::make_unique<PgCluster>();
}

void SyncTest::TearDownTestSuite() {
  source_.reset();
  target_.reset();
}

void SyncTest::SetUp() {
  ASSERT_TRUE(source_ && target_) << "servers did not start";
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  db_.clear();
  for (char c : name) {
    db_ += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
  }
  if (db_.size() > 60) db_ = db_.substr(db_.size() - 60);
  if (!std::isalpha(static_cast<unsigned char>(db_[0]))) db_[0] = 't';
  source().CreateDatabase(db_);
  target().CreateDatabase(db_);
  spec_ = SyncConfigSpec{};
  spec_.source_dsn = source().dsn(db_);
  spec_.target_dsn = target().dsn(db_);
  spec_.slot = db_;
  spec_.publication = db_;
  spec_.monitor_listen = "127.0.0.1:" + std::to_string(FreeTcpPort());
  config_path_ = ScratchDir() + "/" + db_ + ".toml";
}

void SyncTest::TearDown() {
  if (run_ && run_->Running()) {
    run_->Signal(SIGTERM);
    if (!run_->Wait(15s)) run_->Kill();
  }
  if (HasFailure() && run_) {
    std::cerr << "[harness] run stderr: " << run_->stderr_path() << "\n";
  }
  run_.reset();
  if (!source_) return;
  // Best effort: a slot left behind would pin WAL and block DROP DATABASE.
  for (int i = 0; i < 50; ++i) {
    try {
      source().Exec("postgres",
                    "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    "WHERE database = '" +
                        db_ + "' AND active_pid IS NOT NULL");
      source().Exec("postgres",
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE database = '" +
                        db_ + "'");
      return;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms);
    }
  }
}

CommandResult SyncTest::Stagesync(const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {StagesyncBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("-c");
  argv.push_back(config_path_);
  return RunCommand(argv, "stagesync-" + (args.empty() ? std::string("none") : args[0]), timeout);
}

void SyncTest::SetupOrFail() {
  WriteConfig();
  CommandResult r = Stagesync({"setup"});
  ASSERT_EQ(r.exit_code, 0) << "setup failed\n" << r.Describe();
}

Process& SyncTest::StartRun() {
  if (run_ && run_->Running()) ADD_FAILURE() << "StartRun: previous run still running";
  run_ = std::make_unique<Process>(
      std::vector<std::string>{StagesyncBinary(), "run", "-c", config_path_}, "stagesync-run");
  return *run_;
}

StatusResult SyncTest::Status() const {
  StatusResult s;
  s.command = Stagesync({"status", "--json"}, 30s);
  if (s.command.exit_code == 0) s.json = ParseJsonObject(s.command.out);
  return s;
}

std::string SyncTest::SourceWalLsn() const {
  return source().QueryValue(db_, "SELECT pg_current_wal_lsn()::text").value_or("");
}

std::string SyncTest::RunLog(size_t bytes) const {
  if (!run_) return "(run was not started)";
  std::string err = run_->Stderr();
  if (err.size() > bytes) err = "..." + err.substr(err.size() - bytes);
  return "--- stderr of `" + run_->CommandLine() + "`:\n" + err;
}

::testing::AssertionResult SyncTest::Converges(const std::vector<TableComparison>& tables,
                                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_difference;
  for (;;) {
    bool equal = true;
    for (const auto& c : tables) {
      std::string target_table = c.target_table.empty() ? c.source_table : c.target_table;
      std::string target_select = c.target_select.empty() ? c.source_select : c.target_select;
      try {
        if (TableDigest(source(), db_, c.source_table, c.order_by, c.source_select) !=
            TableDigest(target(), db_, target_table, c.order_by, target_select)) {
          equal = false;
          break;
        }
      } catch (const std::exception& e) {
        last_difference = e.what();
        equal = false;
        break;
      }
    }
    if (equal) return ::testing::AssertionSuccess();
    bool run_exited = run_ && !run_->Running();
    if (run_exited || std::chrono::steady_clock::now() >= deadline) {
      std::string diff;
      for (const auto& c : tables) diff += DescribeDifference(source(), db_, target(), db_, c);
      auto failure = ::testing::AssertionFailure();
      if (run_exited) {
        failure << "run exited (code " << run_->Wait(0ms).value_or(-1) << ") before converging\n";
      } else {
        failure << "source and target did not converge within " << timeout.count() << " ms\n";
      }
      return failure << diff << last_difference << "\n" << RunLog();
    }
    std::this_thread::sleep_for(250ms);
  }
}

::testing::AssertionResult SyncTest::CaughtUp(std::chrono::milliseconds timeout,
                                              std::optional<std::string> lsn) {
  std::string wanted = lsn ? *lsn : SourceWalLsn();
  uint64_t wanted_lsn = ParseLsn(wanted).value_or(0);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    StatusResult s = Status();
    last = s.command.Describe();
    if (s.json) {
      auto& j = *s.json;
      bool lag_zero = j.count("lag_seconds") && j["lag_seconds"].kind == JsonValue::Kind::kNumber &&
                      j["lag_seconds"].number() == 0;
      std::optional<uint64_t> applied;
      if (j.count("applied_position")) applied = ParseLsn(j["applied_position"].text);
      if (lag_zero && applied && *applied >= wanted_lsn) return ::testing::AssertionSuccess();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << "status never showed lag_seconds == 0 with applied_position >= " << wanted
             << " within " << timeout.count() << " ms; last status:\n"
             << last << "\n"
             << RunLog();
    }
    std::this_thread::sleep_for(300ms);
  }
}

}  // namespace stagesync::testing
