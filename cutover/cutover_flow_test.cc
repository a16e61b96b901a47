// The cutover without servers when nothing fails: it ends fenced (that is the switch), a dry
// run changes nothing on production, and unmet preconditions refuse before anything changes.
// Also the report's words at its JSON and text edges.
#include <gtest/gtest.h>

#include "cutover_fakes.h"

namespace stagesync::cutover {
namespace {

using fake::Scenario;

TEST(CutoverFlow, switches_and_leaves_production_fenced) {
  Scenario s;
  // Time passes only where the fakes say: two seconds of verify, all while fenced.
  s.world.on_call = [&w = s.world](const std::string& c) {
    if (c == "verify") w.now += std::chrono::seconds(2);
  };
  Status status = s.Run();
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(s.report.state, CutoverState::kDone);
  for (const auto& step : s.report.steps) {
    EXPECT_EQ(step.status, StepStatus::kOk) << step.name << ": " << step.detail;
    EXPECT_TRUE(step.seconds) << step.name;
  }
  EXPECT_EQ(s.report.steps[1].detail, "production read-only");
  EXPECT_EQ(s.report.steps[2].detail, "applied @1000 >= marker @1000");
  EXPECT_EQ(s.report.steps[3].detail, "1 counter; public.t_id_seq 7 -> 42");
  EXPECT_EQ(s.report.steps[4].detail, "1 tables equal (count)");
  EXPECT_EQ(s.report.steps[5].detail, "switch_command done");
  EXPECT_EQ(s.report.downtime_seconds, 2.0);
  EXPECT_EQ(s.report.started_at, 1700000000000000);

  // Fenced once, in order with the drain, the sync and the switch, and never undone.
  auto& w = s.world;
  EXPECT_EQ(w.Count("check_privileges"), 1u);
  EXPECT_EQ(w.Count("fence"), 1u);
  EXPECT_LT(w.Position("fence"), w.Position("write_marker"));
  EXPECT_LT(w.Position("write_marker"), w.Position("sync"));
  EXPECT_LT(w.Position("sync"), w.Position("verify"));
  EXPECT_LT(w.Position("verify"), w.Position("sh switch.sh STAGESYNC_STEP=switch"));
  EXPECT_EQ(w.Count("sh switch.sh STAGESYNC_STEP=switch"), 1u);
  EXPECT_FALSE(w.Called("unfence"));
  EXPECT_FALSE(w.Called("restore"));
  EXPECT_EQ(s.report.unfenced, "");
  EXPECT_EQ(s.report.failed_step, "");
  ASSERT_FALSE(w.records.empty());
  EXPECT_EQ(w.records.back(), CutoverState::kDone);
  EXPECT_NE(std::find(w.records.begin(), w.records.end(), CutoverState::kFenced), w.records.end());
}

TEST(CutoverFlow, fences_and_switches_by_command) {
  Scenario s;
  s.FenceByCommand();
  ASSERT_TRUE(s.Run().ok());
  EXPECT_EQ(s.report.state, CutoverState::kDone);
  EXPECT_EQ(s.report.steps[1].detail, "fence_command done");
  EXPECT_EQ(s.world.Count("sh fence.sh STAGESYNC_STEP=fence"), 1u);
  EXPECT_FALSE(s.world.Called("fence"));
  EXPECT_FALSE(s.world.CalledStartingWith("sh unfence.sh"));
}

TEST(CutoverFlow, drains_through_kafka) {
  Scenario s;
  s.config.stream.transport = Transport::kKafka;
  ASSERT_TRUE(s.Run().ok());
  EXPECT_EQ(s.report.steps[2].detail,
            "Kafka confirmed @1000 >= marker @1000; apply reached the end of 1 partitions");
  EXPECT_FALSE(s.world.Called("read_applied"));
  EXPECT_LT(s.world.Position("kafka_confirmed"), s.world.Position("partition_ends"));
  EXPECT_LT(s.world.Position("partition_ends"), s.world.Position("apply_offsets"));
}

TEST(CutoverFlow, dry_run_runs_every_step_but_fence_and_switch) {
  Scenario s;
  s.options.dry_run = true;
  s.world.privilege_problems = {"a dry run does not fence: it needs no privileges for it"};
  Status status = s.Run();
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(s.report.state, CutoverState::kDryRunDone);
  EXPECT_TRUE(s.report.dry_run);
  const StepStatus expected[] = {StepStatus::kOk, StepStatus::kSkipped, StepStatus::kOk,
                                 StepStatus::kOk, StepStatus::kOk,      StepStatus::kSkipped};
  for (size_t i = 0; i < s.report.steps.size(); ++i) {
    EXPECT_EQ(s.report.steps[i].status, expected[i]) << s.report.steps[i].name;
  }
  EXPECT_EQ(s.report.steps[1].detail, "skipped (dry run)");
  EXPECT_EQ(s.report.steps[5].detail, "skipped (dry run)");
  auto& w = s.world;
  EXPECT_FALSE(w.Called("check_privileges"));
  EXPECT_FALSE(w.Called("fence"));
  EXPECT_FALSE(w.CalledStartingWith("sh "));
  EXPECT_TRUE(w.Called("write_marker"));
  EXPECT_TRUE(w.Called("sync"));
  EXPECT_TRUE(w.Called("verify"));
  EXPECT_FALSE(w.Called("unfence"));
  EXPECT_FALSE(w.Called("restore"));
  EXPECT_FALSE(s.report.downtime_seconds);
  EXPECT_EQ(std::find(w.records.begin(), w.records.end(), CutoverState::kFenced), w.records.end());
}

TEST(CutoverFlow, verify_checksum_and_checks_pass) {
  Scenario s;
  s.config.cutover.verify = VerifyMode::kChecksum;
  s.config.cutover.checks = {"SELECT 1", "SELECT true"};
  s.world.check_results = {{"SELECT 1", "t"}, {"SELECT true", "t"}};
  ASSERT_TRUE(s.Run().ok());
  EXPECT_TRUE(s.world.Called("verify checksum"));
  EXPECT_EQ(s.report.steps[4].detail, "1 tables equal (checksum); 2 checks passed");
}

// Preconditions: exit 2, and nothing on production touched.
void ExpectNothingChanged(const Scenario& s) {
  for (const char* effect : {"fence", "write_marker", "sync", "verify", "unfence", "restore"}) {
    EXPECT_FALSE(s.world.Called(effect)) << effect;
  }
  EXPECT_FALSE(s.world.CalledStartingWith("sh "));
  EXPECT_TRUE(s.world.records.empty());
}

TEST(CutoverPreconditions, a_source_problem_refuses_before_connecting) {
  Scenario s;
  s.world.source = Status::Usage("source: wal_level is replica");
  Status status = s.Run();
  EXPECT_EQ(status.exit_code(), kExitUsage);
  EXPECT_EQ(status.message(), "source: wal_level is replica");
  EXPECT_FALSE(s.world.Called("open_production"));
  ExpectNothingChanged(s);
}

TEST(CutoverPreconditions, an_unreachable_target_refuses) {
  Scenario s;
  s.world.failing = {"open_target_counters"};
  Status status = s.Run();
  EXPECT_EQ(status.exit_code(), kExitUsage);
  EXPECT_EQ(status.message(), "cutover: open_target_counters broke");
  ExpectNothingChanged(s);
}

TEST(CutoverPreconditions, a_missing_privilege_refuses) {
  Scenario s;
  s.world.privilege_problems = {"ending the application sessions needs pg_signal_backend"};
  Status status = s.Run();
  EXPECT_EQ(status.exit_code(), kExitUsage);
  EXPECT_EQ(status.message(), "ending the application sessions needs pg_signal_backend");
  EXPECT_FALSE(s.world.Called("read_status"));
  ExpectNothingChanged(s);
}

TEST(CutoverPreconditions, without_a_running_sync_it_refuses_after_waiting_for_one) {
  Scenario s;
  s.world.run_alive = false;
  Status status = s.Run();
  EXPECT_EQ(status.exit_code(), kExitUsage);
  EXPECT_EQ(status.message(),
            "no `stagesync run` is streaming stream stagesync (state idle): the cutover drains "
            "through it; start it and wait for state streaming");
  EXPECT_EQ(s.world.Count("read_status"), 21u);
  EXPECT_EQ(s.world.now - std::chrono::steady_clock::time_point{}, std::chrono::seconds(5));
  ExpectNothingChanged(s);
}

TEST(CutoverPreconditions, a_run_that_comes_up_within_the_wait_is_enough) {
  Scenario s;
  s.world.run_alive = false;
  s.world.on_call = [&w = s.world](const std::string& c) {
    if (c == "read_status" && w.Count("read_status") == 3) w.run_alive = true;
  };
  ASSERT_TRUE(s.Run().ok());
  EXPECT_EQ(s.report.state, CutoverState::kDone);
}

// The words that `status`, the dashboard and `cutover --json` show are the contract's.
TEST(CutoverReportEdges, json_and_text_use_the_contracts_words) {
  CutoverReport r;
  r.state = CutoverState::kFenced;
  r.started_at = 17;
  const StepStatus statuses[] = {StepStatus::kOk,      StepStatus::kSkipped, StepStatus::kRunning,
                                 StepStatus::kPending, StepStatus::kPending, StepStatus::kPending};
  const char* names[] = {"gate", "fence", "marker", "sequences", "verify", "switch"};
  for (size_t i = 0; i < 6; ++i) r.steps.push_back(CutoverStep{names[i], statuses[i]});
  r.steps[0].seconds = 0.25;
  r.steps[0].detail = "lag 0.100 s <= max_lag 2.000 s";
  r.steps[1].seconds = 0;
  r.steps[1].detail = "skipped (cutover.fence = none)";
  EXPECT_EQ(CutoverJson(r),
            "{\"state\":\"fenced\",\"dry_run\":false,\"started_at_us\":17,\"step\":\"marker\","
            "\"downtime_seconds\":null,\"failed_step\":null,\"error\":null,\"unfenced\":null,"
            "\"steps\":[{\"name\":\"gate\",\"status\":\"ok\",\"seconds\":0.25,"
            "\"detail\":\"lag 0.100 s <= max_lag 2.000 s\"},"
            "{\"name\":\"fence\",\"status\":\"skipped\",\"seconds\":0.0,"
            "\"detail\":\"skipped (cutover.fence = none)\"},"
            "{\"name\":\"marker\",\"status\":\"running\",\"seconds\":null,\"detail\":\"\"},"
            "{\"name\":\"sequences\",\"status\":\"pending\",\"seconds\":null,\"detail\":\"\"},"
            "{\"name\":\"verify\",\"status\":\"pending\",\"seconds\":null,\"detail\":\"\"},"
            "{\"name\":\"switch\",\"status\":\"pending\",\"seconds\":null,\"detail\":\"\"}]}");

  r.state = CutoverState::kFailed;
  r.steps[2].status = StepStatus::kFailed;
  r.steps[2].seconds = 1.5;
  r.steps[2].detail = r.error = "write_marker broke";
  r.failed_step = "marker";
  r.unfenced = "nothing to undo";
  EXPECT_EQ(CutoverText(r),
            "cutover: failed\n"
            "  gate       ok         0.250 s  lag 0.100 s <= max_lag 2.000 s\n"
            "  fence      skipped    0.000 s  skipped (cutover.fence = none)\n"
            "  marker     failed     1.500 s  write_marker broke\n"
            "  sequences  pending          -  \n"
            "  verify     pending          -  \n"
            "  switch     pending          -  \n"
            "failed at marker: write_marker broke\n"
            "undone: nothing to undo\n");
  for (auto [state, name] : {std::pair{CutoverState::kRunning, "running"},
                             {CutoverState::kDone, "done"},
                             {CutoverState::kDryRunDone, "dry_run_done"}}) {
    r.state = state;
    EXPECT_EQ(CutoverText(r).substr(0, CutoverText(r).find('\n')), std::string("cutover: ") + name);
  }
}

// The report JSON of a whole cutover and of a failed one: doubles at their shortest, an error
// with a newline and quotes escaped, what was undone.
TEST(CutoverReportEdges, json_of_a_success_and_of_a_failure) {
  CutoverReport r;
  r.started_at = 1700000000000001;
  const char* names[] = {"gate", "fence", "marker", "sequences", "verify", "switch"};
  for (const char* name : names) r.steps.push_back(CutoverStep{name});
  r.state = CutoverState::kFenced;
  r.steps[0].status = r.steps[1].status = StepStatus::kOk;
  r.steps[0].seconds = 0.25;
  r.steps[0].detail = "lag 0.100 s <= max_lag 2.000 s";
  r.steps[1].seconds = 0.0123;
  r.steps[1].detail = "database prod read-only; 3 sessions ended";
  r.steps[2].status = StepStatus::kRunning;
  CutoverReport failed = r;

  r.state = CutoverState::kDone;
  for (size_t i = 2; i < 6; ++i) {
    r.steps[i].status = StepStatus::kOk;
    r.steps[i].seconds = 0.1 * static_cast<double>(i) + 1e-7;
    r.steps[i].detail = "ok " + std::to_string(i);
  }
  r.downtime_seconds = 0.36912345678;
  EXPECT_EQ(
      CutoverJson(r),
      "{\"state\":\"done\",\"dry_run\":false,\"started_at_us\":1700000000000001,"
      "\"step\":null,\"downtime_seconds\":0.36912345678,\"failed_step\":null,"
      "\"error\":null,\"unfenced\":null,\"steps\":[{\"name\":\"gate\","
      "\"status\":\"ok\",\"seconds\":0.25,\"detail\":\"lag 0.100 s <= max_lag 2.000 s\"},"
      "{\"name\":\"fence\",\"status\":\"ok\",\"seconds\":0.0123,\"detail\":\"database prod read-"
      "only; 3 sessions ended\"},{\"name\":\"marker\",\"status\":\"ok\","
      "\"seconds\":0.20000010000000002,\"detail\":\"ok 2\"},{\"name\":\"sequences\","
      "\"status\":\"ok\",\"seconds\":0.30000010000000007,\"detail\":\"ok 3\"},"
      "{\"name\":\"verify\",\"status\":\"ok\",\"seconds\":0.4000001,"
      "\"detail\":\"ok 4\"},{\"name\":\"switch\",\"status\":\"ok\",\"seconds\":0.5000001,"
      "\"detail\":\"ok 5\"}]}");

  failed.state = CutoverState::kFailed;
  failed.steps[2].status = StepStatus::kFailed;
  failed.steps[2].seconds = 30.000001;
  failed.steps[2].detail = failed.error =
      "the marker at 0/3000060 was not applied within cutover.drain_timeout 30s (applied: "
      "0/3000000); is `stagesync run` up and applying?\nsecond line \"quoted\"";
  failed.failed_step = "marker";
  failed.unfenced = "target counters restored; database prod writable again";
  EXPECT_EQ(
      CutoverJson(failed),
      "{\"state\":\"failed\",\"dry_run\":false,\"started_at_us\":1700000000000001,"
      "\"step\":null,\"downtime_seconds\":null,\"failed_step\":\"marker\","
      "\"error\":\"the marker at 0/3000060 was not applied within cutover.drain_timeout 30s (app"
      "lied: 0/3000000); is `stagesync run` up and applying?\\nsecond line \\\"quoted\\\"\","
      "\"unfenced\":\"target counters restored; database prod writable again\","
      "\"steps\":[{\"name\":\"gate\",\"status\":\"ok\",\"seconds\":0.25,"
      "\"detail\":\"lag 0.100 s <= max_lag 2.000 s\"},{\"name\":\"fence\","
      "\"status\":\"ok\",\"seconds\":0.0123,\"detail\":\"database prod read-only; 3 sessions end"
      "ed\"},{\"name\":\"marker\",\"status\":\"failed\",\"seconds\":30.000001,"
      "\"detail\":\"the marker at 0/3000060 was not applied within cutover.drain_timeout 30s (ap"
      "plied: 0/3000000); is `stagesync run` up and applying?\\nsecond line \\\"quoted\\\"\"},"
      "{\"name\":\"sequences\",\"status\":\"pending\",\"seconds\":null,"
      "\"detail\":\"\"},{\"name\":\"verify\",\"status\":\"pending\","
      "\"seconds\":null,\"detail\":\"\"},{\"name\":\"switch\",\"status\":\"pending\","
      "\"seconds\":null,\"detail\":\"\"}]}");
}

}  // namespace
}  // namespace stagesync::cutover
