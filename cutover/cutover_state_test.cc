// The cutover's guarantee without servers: each step made to fail in turn leaves production
// unfenced if it had been fenced and the target's counters put back if they had been synced,
// and runs nothing after it.
#include <gtest/gtest.h>

#include "cutover_fakes.h"

namespace stagesync::cutover {
namespace {

using fake::FakeWorld;
using fake::Scenario;

constexpr const char* kSteps[] = {"gate", "fence", "marker", "sequences", "verify", "switch"};

// What each step does that no other does: none of it may happen after an earlier step failed.
std::vector<std::string> EffectsOf(const std::string& step) {
  if (step == "fence") return {"fence", "sh fence.sh"};
  if (step == "marker") return {"write_marker", "read_applied", "kafka_confirmed"};
  if (step == "sequences") return {"source_counters", "sync"};
  if (step == "verify") return {"verify", "check "};
  if (step == "switch") return {"sh switch.sh"};
  return {};
}

// One way to break the cutover, and what must then have been undone.
struct Failure {
  const char* name;
  std::function<void(Scenario&)> breaks;
  const char* step;   // the step reported as failed
  const char* error;  // part of the report's error
  bool fenced;        // production had been fenced: it must be unfenced, once
  bool synced;        // the target's counters had been synced: they must be put back, once
};

void PrintTo(const Failure& f, std::ostream* os) {
  *os << f.name;
}

const Failure kFailures[] = {
    {"lag_above_max_lag", [](Scenario& s) { s.world.lag_seconds = 9; }, "gate",
     "lag never reached max_lag 2.000 s within 1s (last: 9.000 s)", false, false},
    {"run_gone_at_the_gate",
     [](Scenario& s) {
       s.world.on_call = [&w = s.world](const std::string& c) {
         if (c == "read_status" && w.Count("read_status") > 1) w.run_alive = false;
       };
     },
     "gate", "and `run` is not up (idle)", false, false},
    {"fence_refused", [](Scenario& s) { s.world.failing = {"fence"}; }, "fence", "fence broke",
     true, false},
    {"fence_command_fails",
     [](Scenario& s) {
       s.FenceByCommand();
       s.world.exit_status["fence.sh"] = 1;
     },
     "fence", "fence_command exited with 1", true, false},
    {"marker_not_written", [](Scenario& s) { s.world.failing = {"write_marker"}; }, "marker",
     "write_marker broke", true, false},
    {"marker_not_applied_in_time", [](Scenario& s) { s.world.applied = 999; }, "marker",
     "the marker at @1000 was not applied within cutover.drain_timeout 1s (applied: @999)", true,
     false},
    {"applied_position_unreadable", [](Scenario& s) { s.world.failing = {"read_applied"}; },
     "marker", "read_applied broke", true, false},
    {"interrupted_while_draining",
     [](Scenario& s) {
       s.world.applied = 999;
       s.world.on_call = [&w = s.world](const std::string& c) {
         if (c == "read_applied") w.stop = true;
       };
     },
     "marker", "interrupted (SIGINT/SIGTERM)", true, false},
    {"kafka_never_confirms_the_marker",
     [](Scenario& s) {
       s.config.stream.transport = Transport::kKafka;
       s.world.kafka_confirmed = 999;
     },
     "marker", "Kafka did not confirm the marker at @1000 within cutover.drain_timeout 1s", true,
     false},
    {"kafka_partition_ends_unreadable",
     [](Scenario& s) {
       s.config.stream.transport = Transport::kKafka;
       s.world.failing = {"partition_ends"};
     },
     "marker", "partition_ends broke", true, false},
    {"kafka_apply_behind",
     [](Scenario& s) {
       s.config.stream.transport = Transport::kKafka;
       s.world.apply_offsets[0].next_offset = 6;
     },
     "marker", "apply did not reach the end of every partition", true, false},
    {"source_counters_unreadable", [](Scenario& s) { s.world.failing = {"source_counters"}; },
     "sequences", "source_counters broke", true, false},
    {"target_counters_sync_fails", [](Scenario& s) { s.world.failing = {"sync"}; }, "sequences",
     "sync broke", true, true},
    {"verify_cannot_run", [](Scenario& s) { s.world.failing = {"verify"}; }, "verify",
     "verify broke", true, true},
    {"verify_finds_differences",
     [](Scenario& s) {
       s.world.verify_report.tables[0].target_rows = 2;
       s.world.verify_report.tables[0].differences = {"missing id=3"};
     },
     "verify", "verify (count) found differences: public.t: 3 vs 2 rows, missing id=3", true, true},
    {"check_returns_false",
     [](Scenario& s) {
       s.config.cutover.checks = {"SELECT ok"};
       s.world.check_results["SELECT ok"] = "f";
     },
     "verify", "check `SELECT ok` returned f, not true", true, true},
    {"check_cannot_run", [](Scenario& s) { s.config.cutover.checks = {"SELECT gone"}; }, "verify",
     "check `SELECT gone` failed: no such table", true, true},
    {"switch_command_fails", [](Scenario& s) { s.world.exit_status["switch.sh"] = 3; }, "switch",
     "switch_command exited with 3", true, true},
    {"switch_command_fails_after_a_command_fence",
     [](Scenario& s) {
       s.FenceByCommand();
       s.world.exit_status["switch.sh"] = 3;
     },
     "switch", "switch_command exited with 3", true, true},
    {"verify_fails_with_fence_none",
     [](Scenario& s) {
       s.config.cutover.fence = FenceMode::kNone;
       s.world.failing = {"verify"};
     },
     "verify", "verify broke", false, true},
    {"verify_fails_in_a_dry_run",
     [](Scenario& s) {
       s.options.dry_run = true;
       s.world.failing = {"verify"};
     },
     "verify", "verify broke", false, true},
};

class CutoverStepFails : public ::testing::TestWithParam<Failure> {};

TEST_P(CutoverStepFails, undoes_what_was_done_and_runs_nothing_after) {
  const Failure& f = GetParam();
  Scenario s;
  f.breaks(s);
  Status status = s.Run();
  const CutoverReport& report = s.report;

  EXPECT_EQ(status.exit_code(), kExitFailure);
  EXPECT_EQ(status.message(), "cutover failed at " + std::string(f.step) + ": " + report.error);
  EXPECT_EQ(report.state, CutoverState::kFailed);
  EXPECT_EQ(report.failed_step, f.step);
  EXPECT_NE(report.error.find(f.error), std::string::npos) << report.error;
  ASSERT_FALSE(s.world.records.empty());
  EXPECT_EQ(s.world.records.back(), CutoverState::kFailed);

  // The steps before passed, the failed one says why, and none after it started.
  size_t failed = std::find(std::begin(kSteps), std::end(kSteps), std::string(f.step)) - kSteps;
  ASSERT_EQ(report.steps.size(), std::size(kSteps));
  for (size_t i = 0; i < report.steps.size(); ++i) {
    const CutoverStep& step = report.steps[i];
    if (i < failed) {
      EXPECT_TRUE(step.status == StepStatus::kOk || step.status == StepStatus::kSkipped)
          << step.name << ": " << StepStatusName(step.status);
    } else if (i == failed) {
      EXPECT_EQ(step.status, StepStatus::kFailed) << step.name;
      EXPECT_EQ(step.detail, report.error);
    } else {
      EXPECT_EQ(step.status, StepStatus::kPending) << step.name;
      EXPECT_FALSE(step.seconds) << step.name;
      for (const auto& effect : EffectsOf(step.name)) {
        EXPECT_FALSE(s.world.CalledStartingWith(effect)) << effect << " after " << f.step;
      }
    }
  }

  // Production writable again if it had been fenced, the counters back if they had been synced.
  bool by_command = s.config.cutover.fence == FenceMode::kCommand;
  EXPECT_EQ(s.world.Count("unfence"), f.fenced && !by_command ? 1u : 0u);
  EXPECT_EQ(s.world.Count("sh unfence.sh STAGESYNC_STEP=unfence"),
            f.fenced && by_command ? 1u : 0u);
  EXPECT_EQ(s.world.Count("restore"), f.synced ? 1u : 0u);
  std::string undone = f.synced ? "target counters restored" : "";
  if (f.fenced) {
    undone += (undone.empty() ? "" : "; ") +
              std::string(by_command ? "unfence_command done" : "production writable again");
  }
  EXPECT_EQ(report.unfenced, undone.empty() ? "nothing to undo" : undone);
  EXPECT_FALSE(report.downtime_seconds);
}

INSTANTIATE_TEST_SUITE_P(EachWay, CutoverStepFails, ::testing::ValuesIn(kFailures),
                         [](const auto& info) { return std::string(info.param.name); });

// Undoing can fail too: the report says so loudly, and the rest is still undone.
class CutoverUndoFails : public ::testing::Test {
 protected:
  Scenario s_;
};

TEST_F(CutoverUndoFails, a_failing_unfence_is_reported) {
  s_.world.failing = {"verify", "unfence"};
  EXPECT_EQ(s_.Run().exit_code(), kExitFailure);
  EXPECT_EQ(s_.report.failed_step, "verify");
  EXPECT_EQ(s_.world.Count("restore"), 1u);
  EXPECT_EQ(s_.world.Count("unfence"), 1u);
  EXPECT_EQ(s_.report.unfenced,
            "target counters restored; unfencing FAILED: unfence broke: PRODUCTION MAY STILL BE "
            "FENCED");
}

TEST_F(CutoverUndoFails, a_failing_unfence_command_is_reported) {
  s_.FenceByCommand();
  s_.world.exit_status = {{"switch.sh", 3}, {"unfence.sh", 5}};
  EXPECT_EQ(s_.Run().exit_code(), kExitFailure);
  EXPECT_EQ(s_.report.failed_step, "switch");
  EXPECT_EQ(s_.world.Count("sh unfence.sh STAGESYNC_STEP=unfence"), 1u);
  EXPECT_EQ(s_.report.unfenced,
            "target counters restored; unfence_command exited with 5: PRODUCTION MAY STILL BE "
            "FENCED");
}

TEST_F(CutoverUndoFails, a_failing_restore_still_unfences) {
  s_.world.failing = {"verify", "restore"};
  EXPECT_EQ(s_.Run().exit_code(), kExitFailure);
  EXPECT_EQ(s_.world.Count("restore"), 1u);
  EXPECT_EQ(s_.world.Count("unfence"), 1u);
  EXPECT_EQ(s_.report.unfenced,
            "restoring the target counters FAILED: restore broke; production writable again");
}

}  // namespace
}  // namespace stagesync::cutover
