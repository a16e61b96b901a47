// `stagesync status --json`: the contract's fields, read from the databases whether or not
// `run` is up, and lag that drops to 0 once staging has caught up.
#include <signal.h>

#include <set>
#include <thread>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using StatusTest = SyncTest;

std::string Describe(const StatusResult& s) {
  return s.command.Describe();
}

void ExpectContractFields(const StatusResult& s) {
  ASSERT_EQ(s.command.exit_code, 0) << Describe(s);
  ASSERT_TRUE(s.json) << "stdout is not one JSON object\n" << Describe(s);
  auto& j = *s.json;
  using K = JsonValue::Kind;
  const std::set<std::string> states = {"idle",   "streaming",    "catching_up",
                                        "fenced", "cutover_done", "error"};
  ASSERT_TRUE(j.count("state")) << Describe(s);
  EXPECT_EQ(j.at("state").kind, K::kString) << Describe(s);
  EXPECT_TRUE(states.count(j.at("state").text)) << Describe(s);
  for (const char* field : {"lag_seconds", "source_bytes_behind"}) {
    ASSERT_TRUE(j.count(field)) << field << "\n" << Describe(s);
    EXPECT_TRUE(j.at(field).kind == K::kNumber || j.at(field).kind == K::kNull) << field << "\n"
                                                                                << Describe(s);
  }
  for (const char* field : {"events_applied", "transactions_applied"}) {
    ASSERT_TRUE(j.count(field)) << field << "\n" << Describe(s);
    EXPECT_EQ(j.at(field).kind, K::kNumber) << field << "\n" << Describe(s);
  }
  ASSERT_TRUE(j.count("applied_position")) << Describe(s);
  if (!j.at("applied_position").is_null()) {
    EXPECT_TRUE(ParseLsn(j.at("applied_position").text)) << Describe(s);
  }
}

TEST_F(StatusTest, status_json_has_contract_fields) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StatusResult before_run = Status();  // no run yet
  ExpectContractFields(before_run);
  StartRun();
  OnSource("INSERT INTO t SELECT generate_series(1, 10)");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  ExpectContractFields(Status());
  // The human form works too.
  CommandResult human = Stagesync({"status"});
  EXPECT_EQ(human.exit_code, 0) << human.Describe();
  EXPECT_FALSE(human.out.empty()) << human.Describe();
  // Secrets never show: the DSN has no password here, but the password file's must not leak.
  WriteFile(ScratchDir() + "/" + db_ + ".pw", "s3cret-do-not-print\n");
  WriteConfig();
  std::string config = ReadFile(config_path_);
  config.replace(
      config.find("[target]"), 8,
      "password_file = " + TomlString(ScratchDir() + "/" + db_ + ".pw") + "\n\n[target]");
  WriteFile(config_path_, config);
  StatusResult with_password = Status();
  EXPECT_EQ(with_password.command.out.find("s3cret"), std::string::npos) << Describe(with_password);
  EXPECT_EQ(with_password.command.err.find("s3cret"), std::string::npos) << Describe(with_password);
}

TEST_F(StatusTest, status_lag_drops_to_zero) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY, v text)");
  SetupOrFail();
  // A backlog while run is down: lag is not 0 (a number > 0, or unknown).
  OnSource("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 500) i");
  OnSource("UPDATE t SET v = 'w' WHERE id <= 100");
  std::this_thread::sleep_for(1500ms);
  StatusResult backlog = Status();
  ExpectContractFields(backlog);
  if (backlog.json && backlog.json->count("lag_seconds")) {
    const JsonValue& lag = backlog.json->at("lag_seconds");
    EXPECT_TRUE(lag.is_null() || lag.number() > 0) << "unapplied changes exist, lag must not be 0\n"
                                                   << Describe(backlog);
  }
  std::string end_of_workload = SourceWalLsn();
  StartRun();
  ASSERT_TRUE(CaughtUp(90s, end_of_workload));
  ASSERT_TRUE(Converges({{"t", "id"}}, 5s)) << "status said caught up, but the data differs";
  StatusResult caught_up = Status();
  ExpectContractFields(caught_up);
  ASSERT_TRUE(caught_up.json);
  EXPECT_EQ(caught_up.json->at("state").text, "streaming") << Describe(caught_up);
  EXPECT_GE(caught_up.json->at("events_applied").number(), 600) << Describe(caught_up);
  EXPECT_GE(caught_up.json->at("transactions_applied").number(), 2) << Describe(caught_up);
  // Idle source: heartbeats keep lag at 0 and the position moving.
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(CaughtUp(30s));
  // Live traffic: caught up again shortly after each commit.
  OnSource("DELETE FROM t WHERE id > 400");
  EXPECT_TRUE(CaughtUp(30s));
  // After a clean stop, status still answers from the databases.
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  ExpectContractFields(Status());
}

TEST_F(StatusTest, watch_refreshes_every_second_with_rates_until_interrupted) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  Process watch({StagesyncBinary(), "status", "--watch", "-c", config_path_}, "status-watch");
  for (int i = 0; i < 3; ++i) {
    OnSource("INSERT INTO t SELECT generate_series(" + std::to_string(i * 100 + 1) + ", " +
             std::to_string(i * 100 + 100) + ")");
    std::this_thread::sleep_for(1s);
  }
  watch.Signal(SIGINT);
  ASSERT_EQ(watch.Wait(30s), 0) << watch.Stderr();
  std::string out = watch.Stdout();
  size_t frames = 0;
  for (size_t at = 0; (at = out.find("state                 ", at)) != std::string::npos; ++at) {
    ++frames;
  }
  EXPECT_GE(frames, 2u) << out;
  EXPECT_NE(out.find("events/s"), std::string::npos) << out;
}

}  // namespace
}  // namespace stagesync::testing
