// EngineSyncTest: per-test databases on either engine, config, runs and waits.
#include "engine_fixture.h"

#include <signal.h>

#include <cctype>
#include <map>
#include <thread>

#include "sync_fixture.h"  // StagesyncBinary
#include "table_digest.h"

namespace stagesync::testing {

void ServerRef::CreateDatabase(const std::string& db) const {
  if (my) {
    my->CreateDatabase(db);
  } else {
    pg->CreateDatabase(db);
  }
}

void ServerRef::Exec(const std::string& db, const std::string& sql) const {
  if (my) {
    my->Exec(db, sql);
  } else {
    pg->Exec(db, sql);
  }
}

Rows ServerRef::Query(const std::string& db, const std::string& sql) const {
  return my ? my->Query(db, sql) : pg->Query(db, sql);
}

std::string JoinedRows(const Rows& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "\t" : "") + row[i].value_or("<NULL>");
    out += "\n";
  }
  return out;
}

SourceWorkload::SourceWorkload(ServerRef source, std::string db,
                               std::function<std::string(int)> transaction)
    : thread_([this, source, db = std::move(db), transaction = std::move(transaction)] {
        for (int i = 1; !stop_; ++i) {
          try {
            source.Exec(db, transaction(i));
            committed_++;
          } catch (const std::exception&) {
          }
        }
      }) {}

void SourceWorkload::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<Process> EngineSyncTest::Start(const std::string& command,
                                               const std::vector<std::string>& flags) const {
  std::vector<std::string> argv{StagesyncBinary(), command, "-c", config_path_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return std::make_unique<Process>(argv, command + "-" + db_);
}

void EngineSyncTest::KillAndRestart(std::unique_ptr<Process>& process, const std::string& command,
                                    int rounds, std::chrono::milliseconds every) const {
  for (int round = 0; round < rounds; ++round) {
    std::this_thread::sleep_for(every);
    process->Kill();
    process = Start(command);
  }
}

void EngineSyncTest::UseKafka(const std::string& brokers, bool schemas_enable) {
  spec_.extra_toml += "[stream]\ntransport = \"kafka\"\nbrokers = \"" + brokers +
                      "\"\ntopic_prefix = \"" + db_ +
                      "\"\nschemas_enable = " + (schemas_enable ? "true" : "false") + "\n";
}

void EngineSyncTest::Prepare(ServerRef source, ServerRef target, const std::string& prefix) {
  static int server_ids = 5000;
  source_ = source;
  target_ = target;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  db_ = prefix;
  for (char c : std::string(info->name())) {
    db_ += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
  }
  if (db_.size() > 40) db_ = db_.substr(0, 40);
  source_.CreateDatabase(db_);
  target_.CreateDatabase(db_);
  spec_ = SyncConfigSpec{};
  spec_.source_kind = source_.kind();
  spec_.target_kind = target_.kind();
  spec_.source_dsn = source_.dsn(db_);
  spec_.target_dsn = target_.dsn(db_);
  spec_.slot = db_;
  if (source_.my) {
    spec_.server_id = std::to_string(++server_ids);
    spec_.tables = {db_ + ".*"};
  } else {
    spec_.publication = db_;
  }
  spec_.monitor_listen = "127.0.0.1:" + std::to_string(FreeTcpPort());
  config_path_ = ScratchDir() + "/" + db_ + ".toml";
}

void EngineSyncTest::TearDown() {
  if (run_ && run_->Running()) {
    run_->Signal(SIGTERM);
    if (!run_->Wait(std::chrono::seconds(15))) run_->Kill();
  }
  if (HasFailure() && run_) std::cerr << "[harness] run stderr: " << run_->stderr_path() << "\n";
  run_.reset();
  if (!source_.pg) return;
  try {
    source_.pg->Exec("postgres",
                     "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                     "database = '" +
                         db_ + "' AND active_pid IS NOT NULL");
    source_.pg->Exec("postgres",
                     "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE database = '" +
                         db_ + "'");
  } catch (const std::exception&) {
    // Best effort: a slot left behind only pins WAL on a throwaway server.
  }
}

CommandResult EngineSyncTest::Stagesync(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {StagesyncBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("-c");
  argv.push_back(config_path_);
  return RunCommand(argv, "stagesync-" + args[0], std::chrono::seconds(60));
}

void EngineSyncTest::SetupOrFail() {
  WriteConfig(config_path_, spec_);
  CommandResult r = Stagesync({"setup"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
}

void EngineSyncTest::StartRun() {
  if (run_ && run_->Running()) run_->Kill();
  run_ = std::make_unique<Process>(
      std::vector<std::string>{StagesyncBinary(), "run", "-c", config_path_}, "run-" + db_);
}

::testing::AssertionResult EngineSyncTest::Converges(const std::string& source_query,
                                                     const std::string& target_query,
                                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string want, got;
  while (std::chrono::steady_clock::now() < deadline) {
    want = JoinedRows(source_.Query(db_, source_query));
    got = JoinedRows(target_.Query(db_, target_query));
    if (want == got) return ::testing::AssertionSuccess();
    if (run_ && !run_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto lines = [](const std::string& joined) {
    std::map<std::string, int> out;
    for (size_t at = 0, end; at < joined.size(); at = end + 1) {
      end = joined.find('\n', at);
      ++out[joined.substr(at, end - at)];
    }
    return out;
  };
  return ::testing::AssertionFailure()
         << DescribeLineDifference(lines(want), lines(got), "source ", " rows, target ")
         << "run log:\n"
         << RunLog();
}

}  // namespace stagesync::testing
