// The cutover state machine: gate, fence, marker, sequences, verify, switch (CONTRACT.md).
// Production is unfenced, and target counters put back, on any failure before the switch
// has completed. Every effect goes through the CutoverWorld, so the unit tests can break each
// step in turn.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "cutover_world.h"
#include "report_format.h"
#include "stagesync/log.h"

namespace stagesync::cutover {
namespace {

using Clock = std::chrono::steady_clock;

// A step failed: the message becomes the step's detail and the report's error.
struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How a step that did not fail ended.
struct Outcome {
  StepStatus status;
  std::string detail;
};
Outcome Done(std::string detail) {
  return {StepStatus::kOk, std::move(detail)};
}
Outcome Skipped(const std::string& why) {
  return {StepStatus::kSkipped, "skipped (" + why + ")"};
}

class Machine {
 public:
  Machine(CutoverWorld& world, const Config& config, const CutoverOptions& options,
          const std::atomic<bool>& stop, const std::function<void(const CutoverReport&)>& progress,
          CutoverReport* report)
      : world_(world),
        config_(config),
        options_(options),
        stop_(stop),
        progress_(progress),
        r_(*report) {
    r_ = CutoverReport{};
    r_.dry_run = options.dry_run;
    r_.started_at = world_.wall_now();
    for (const char* name : {"gate", "fence", "marker", "sequences", "verify", "switch"}) {
      r_.steps.push_back(CutoverStep{name});
    }
  }

  Status Run() {
    if (Status s = world_.check_source(&tables_); !s.ok()) return s;
    try {
      production_ = world_.open_production();
      counters_ = world_.open_target_counters();
    } catch (const std::exception& e) {
      return Status::Usage(std::string("cutover: ") + e.what());
    }
    if (!options_.dry_run) {
      auto problems = production_->CheckPrivileges();
      if (!problems.empty()) return Status::Usage(problems.front());
    }
    // A `run` that has just started reports itself within a heartbeat or two.
    monitor::SyncStatus st = world_.read_status();
    for (int i = 0; i < 20 && !st.run_alive && !stop_; ++i) {
      world_.sleep(std::chrono::milliseconds(250));
      st = world_.read_status();
    }
    if (!st.run_alive) {
      return Status::Usage(
          "no `stagesync run` is streaming stream " + config_.source.slot + " (state " + st.state +
          (st.error.empty() ? "" : ": " + st.error) +
          "): the cutover drains through it; start it and wait for state streaming");
    }
    Publish();

    if (!Step(0, [&] { return Gate(); }) || !Step(1, [&] { return Fence(); }) ||
        !Step(2, [&] { return Marker(); }) || !Step(3, [&] { return Sequences(); }) ||
        !Step(4, [&] { return Verify(); }) || !Step(5, [&] { return Switch(); })) {
      Undo();
      r_.state = CutoverState::kFailed;
      Publish();
      return Status::Error("cutover failed at " + r_.failed_step + ": " + r_.error);
    }
    if (fence_started_) r_.downtime_seconds = SecondsSince(*fence_started_);
    r_.state = options_.dry_run ? CutoverState::kDryRunDone : CutoverState::kDone;
    Publish();
    return Status::Ok();
  }

 private:
  double SecondsSince(Clock::time_point t) const {
    return std::chrono::duration<double>(world_.now() - t).count();
  }

  // Between two polls of a wait: a signal ends it as the step's failure.
  void Pause(Duration d) {
    if (stop_) throw StepFailure("interrupted (SIGINT/SIGTERM)");
    world_.sleep(d);
  }

  // Runs one step, timing it; false if it failed (the report says why).
  bool Step(size_t i, const std::function<Outcome()>& body) {
    CutoverStep& step = r_.steps[i];
    step.status = StepStatus::kRunning;
    Publish();
    auto started = world_.now();
    try {
      if (stop_) throw StepFailure("interrupted (SIGINT/SIGTERM)");
      Outcome outcome = body();
      step.status = outcome.status;
      step.detail = std::move(outcome.detail);
    } catch (const std::exception& e) {
      step.status = StepStatus::kFailed;
      step.detail = e.what();
      r_.failed_step = step.name;
      r_.error = e.what();
    }
    step.seconds = SecondsSince(started);
    LOG_INFO("cutover: " << step.name << " " << StepStatusName(step.status) << " in "
                         << ThreeDecimals(*step.seconds) << " s: " << step.detail);
    Publish();
    return step.status != StepStatus::kFailed;
  }

  Outcome Gate() {
    double max_lag = std::chrono::duration<double>(
                         options_.max_lag.count() ? options_.max_lag : config_.cutover.max_lag)
                         .count();
    auto deadline = world_.now() + options_.timeout;
    std::string last = "unknown";
    while (true) {
      monitor::SyncStatus st = world_.read_status();
      if (st.lag_seconds) last = ThreeDecimals(*st.lag_seconds) + " s";
      if (st.run_alive && st.lag_seconds && *st.lag_seconds <= max_lag) {
        return Done("lag " + last + " <= max_lag " + ThreeDecimals(max_lag) + " s");
      }
      if (!st.run_alive) last += " and `run` is not up (" + st.state + ")";
      if (world_.now() >= deadline) {
        throw StepFailure("lag never reached max_lag " + ThreeDecimals(max_lag) + " s within " +
                          FormatDuration(options_.timeout) + " (last: " + last + ")");
      }
      Pause(std::chrono::milliseconds(200));
    }
  }

  Outcome Fence() {
    if (options_.dry_run) return Skipped("dry run");
    if (config_.cutover.fence == FenceMode::kNone) return Skipped("cutover.fence = none");
    fence_started_ = world_.now();
    fenced_ = true;  // from here on, a failure unfences, even of a half-done fence
    r_.state = CutoverState::kFenced;
    if (config_.cutover.fence == FenceMode::kCommand) {
      int rc = world_.run_shell(config_.cutover.fence_command, {"STAGESYNC_STEP=fence"});
      if (rc != 0) throw StepFailure("fence_command exited with " + std::to_string(rc));
      return Done("fence_command done");
    }
    return Done(production_->Fence());
  }

  Outcome Marker() {
    auto started = world_.now();
    Lsn marker = production_->WriteMarker();
    auto describe = world_.drain->PositionFormat();
    auto deadline = started + config_.cutover.drain_timeout;
    if (config_.stream.transport == Transport::kKafka)
      return DrainKafka(marker, deadline, describe);
    while (true) {
      Lsn applied = 0;
      if (Status s = world_.drain->ReadApplied(&applied); !s.ok()) {
        throw StepFailure(s.message());
      }
      if (applied >= marker) {
        return Done("applied " + describe(applied) + " >= marker " + describe(marker));
      }
      if (world_.now() >= deadline) {
        throw StepFailure(
            "the marker at " + describe(marker) + " was not applied within cutover.drain_timeout " +
            FormatDuration(config_.cutover.drain_timeout) + " (applied: " + describe(applied) +
            "); is `stagesync run` up and applying?");
      }
      Pause(std::chrono::milliseconds(10));
    }
  }

  // Capture and apply run apart: first everything up to the marker is confirmed by Kafka,
  // then apply's group has applied every partition up to where Kafka ends now.
  Outcome DrainKafka(Lsn marker, Clock::time_point deadline,
                     const std::function<std::string(Lsn)>& describe) {
    auto wait = [&](const std::string& what, const std::function<bool()>& done) {
      while (!done()) {
        if (world_.now() >= deadline) {
          throw StepFailure(what + " within cutover.drain_timeout " +
                            FormatDuration(config_.cutover.drain_timeout) +
                            "; are `stagesync capture` and `stagesync apply` up?");
        }
        Pause(std::chrono::milliseconds(20));
      }
    };
    Lsn confirmed = 0;
    wait("Kafka did not confirm the marker at " + describe(marker), [&] {
      if (auto c = world_.drain->ReadKafkaConfirmed()) confirmed = *c;
      return confirmed >= marker;
    });
    std::vector<kafka::PartitionEnd> ends;
    if (Status s = world_.drain->ReadPartitionEnds(&ends); !s.ok()) throw StepFailure(s.message());
    wait("apply did not reach the end of every partition", [&] {
      std::vector<apply::KafkaPosition> positions;
      if (!world_.drain->ReadApplyOffsets(&positions).ok()) return false;
      std::map<std::pair<std::string, int32_t>, int64_t> next;
      for (const auto& p : positions) next[{p.topic, p.partition}] = p.next_offset;
      int64_t records = 0;
      for (const auto& e : ends) {
        auto it = next.find({e.topic, e.partition});
        records += std::max<int64_t>(0, e.high - (it == next.end() ? 0 : it->second));
      }
      return records == 0;
    });
    return Done("Kafka confirmed " + describe(confirmed) + " >= marker " + describe(marker) +
                "; apply reached the end of " + std::to_string(ends.size()) + " partitions");
  }

  Outcome Sequences() {
    auto source = production_->Counters(tables_);
    // From here on, a failure restores, even after a half-done sync: Sync keeps the undo of
    // each counter it raised as it goes, and one that throws midway has raised some already.
    synced_ = true;
    auto lines = counters_->Sync(source, tables_);
    std::string out = std::to_string(lines.size()) + " counter" + (lines.size() == 1 ? "" : "s");
    for (const auto& l : lines) out += "; " + l;
    return Done(out);
  }

  Outcome Verify() {
    std::string out;
    if (config_.cutover.verify != VerifyMode::kNone) {
      verify::VerifyReport report;
      bool checksum = config_.cutover.verify == VerifyMode::kChecksum;
      if (Status s = world_.verify(checksum, &report); !s.ok()) throw StepFailure(s.message());
      if (!report.equal()) {
        std::string diff;
        for (const auto& t : report.tables) {
          bool same = t.error.empty() && t.source_rows == t.target_rows &&
                      (!t.checksummed || t.checksum_equal);
          if (same) continue;
          diff += (diff.empty() ? "" : "; ") + t.source_table + ": " +
                  (!t.error.empty()
                       ? t.error
                       : std::to_string(t.source_rows) + " vs " + std::to_string(t.target_rows) +
                             " rows" + (t.differences.empty() ? "" : ", " + t.differences[0]));
        }
        throw StepFailure("verify (" + std::string(Name(config_.cutover.verify)) +
                          ") found differences: " + diff);
      }
      out = std::to_string(report.tables.size()) + " tables equal (" +
            Name(config_.cutover.verify) + ")";
    } else {
      out = "no table comparison (cutover.verify = none)";
    }
    for (const auto& sql : config_.cutover.checks) {
      std::string value;
      bool ok = false;
      try {
        ok = world_.run_check(sql, &value);
      } catch (const std::exception& e) {
        throw StepFailure("check `" + sql + "` failed: " + e.what());
      }
      if (!ok) throw StepFailure("check `" + sql + "` returned " + value + ", not true");
    }
    if (!config_.cutover.checks.empty()) {
      out += "; " + std::to_string(config_.cutover.checks.size()) + " checks passed";
    }
    return Done(out);
  }

  Outcome Switch() {
    if (options_.dry_run) return Skipped("dry run");
    if (config_.cutover.switch_command.empty()) {
      return Done("no switch_command: point the applications at the target now");
    }
    int rc = world_.run_shell(config_.cutover.switch_command, {"STAGESYNC_STEP=switch"});
    if (rc != 0) throw StepFailure("switch_command exited with " + std::to_string(rc));
    return Done("switch_command done");
  }

  // After a failure: production writable again, the target's counters as they were.
  void Undo() {
    std::string done;
    if (synced_) {
      try {
        counters_->Restore();
        done += "target counters restored";
      } catch (const std::exception& e) {
        done += std::string("restoring the target counters FAILED: ") + e.what();
      }
    }
    if (fenced_) {
      std::string what;
      try {
        if (config_.cutover.fence == FenceMode::kCommand) {
          int rc = world_.run_shell(config_.cutover.unfence_command, {"STAGESYNC_STEP=unfence"});
          what = rc == 0 ? "unfence_command done"
                         : "unfence_command exited with " + std::to_string(rc) +
                               ": PRODUCTION MAY STILL BE FENCED";
        } else {
          what = production_->Unfence();
        }
      } catch (const std::exception& e) {
        what = std::string("unfencing FAILED: ") + e.what() + ": PRODUCTION MAY STILL BE FENCED";
      }
      done += (done.empty() ? "" : "; ") + what;
    }
    r_.unfenced = done.empty() ? "nothing to undo" : done;
    LOG_INFO("cutover: " << r_.unfenced);
  }

  void Publish() {
    if (progress_) progress_(r_);
    if (Status s = world_.write_record(r_.state, CutoverJson(r_)); !s.ok()) {
      LOG_WARN(s.message());
    }
  }

  CutoverWorld& world_;
  const Config& config_;
  const CutoverOptions& options_;
  const std::atomic<bool>& stop_;
  const std::function<void(const CutoverReport&)>& progress_;
  CutoverReport& r_;
  std::vector<TableShape> tables_;
  std::unique_ptr<Production> production_;
  std::unique_ptr<TargetCounters> counters_;
  std::optional<Clock::time_point> fence_started_;
  bool fenced_ = false, synced_ = false;
};

}  // namespace

Status RunCutover(CutoverWorld& world, const Config& config, const CutoverOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const CutoverReport&)>& progress,
                  CutoverReport* report) {
  return Machine(world, config, options, stop, progress, report).Run();
}

Status RunCutover(const Config& config, const CutoverOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const CutoverReport&)>& progress,
                  CutoverReport* report) {
  CutoverWorld world = WorldFromConfig(config);
  return RunCutover(world, config, options, stop, progress, report);
}

}  // namespace stagesync::cutover
