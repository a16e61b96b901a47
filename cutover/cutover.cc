// The cutover state machine: gate, fence, marker, sequences, verify, switch (CONTRACT.md).
// Production is unfenced, and target counters put back, on any failure before the switch
// has completed.
#include "stagesync/cutover.h"

#include <chrono>
#include <map>
#include <thread>

#include "production.h"
#include "record.h"
#include "report_format.h"
#include "stagesync/kafka.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"
#include "target_counters.h"

namespace stagesync::cutover {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

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

// One `[cutover] checks` query on the target: passes when its first row's first column is
// true (t, true, or a non-zero number).
bool CheckPasses(const Config& config, const std::string& sql, std::string* value) {
  std::optional<std::string> v;
  if (config.target.kind == "mysql") {
    auto conn = mysql::Connect(config.target);
    auto rows = mysql::Query(*conn, sql);
    if (!rows.empty() && !rows[0].empty()) v = rows[0][0];
  } else {
    auto conn = pg::Connect(config.target, "stagesync-cutover");
    pqxx::nontransaction tx(*conn);
    auto r = tx.exec(sql);
    if (!r.empty() && r.columns() > 0 && !r[0][0].is_null()) v = r[0][0].as<std::string>();
  }
  *value = v.value_or("no row");
  if (!v) return false;
  std::string s = AsciiLower(*v);
  if (s == "t" || s == "true") return true;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' && d != 0;
}

class Machine {
 public:
  Machine(const Config& config, const CutoverOptions& options, const std::atomic<bool>& stop,
          const std::function<void(const CutoverReport&)>& progress, CutoverReport* report)
      : config_(config), options_(options), stop_(stop), progress_(progress), r_(*report) {
    r_ = CutoverReport{};
    r_.dry_run = options.dry_run;
    r_.started_at = NowUs();
    for (const char* name : {"gate", "fence", "marker", "sequences", "verify", "switch"}) {
      r_.steps.push_back(CutoverStep{name});
    }
  }

  Status Run() {
    capture::SourceCheck check;
    if (Status s = capture::CheckSource(config_, &check); !s.ok()) return s;
    if (!check.problems.empty()) return Status::Usage("source: " + check.problems.front());
    tables_ = check.tables;
    try {
      production_ = Production::Open(config_);
      counters_ = TargetCounters::Open(config_);
    } catch (const std::exception& e) {
      return Status::Usage(std::string("cutover: ") + e.what());
    }
    if (!options_.dry_run) {
      auto problems = production_->CheckPrivileges();
      if (!problems.empty()) return Status::Usage(problems.front());
    }
    // A `run` that has just started reports itself within a heartbeat or two.
    SyncStatus st = ReadStatus(config_, /*peek_slot=*/false);
    for (int i = 0; i < 20 && !st.run_alive && !stop_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      st = ReadStatus(config_, /*peek_slot=*/false);
    }
    if (!st.run_alive) {
      return Status::Usage(
          "no `stagesync run` is streaming stream " + config_.source.slot + " (state " + st.state +
          (st.error.empty() ? "" : ": " + st.error) +
          "): the cutover drains through it; start it and wait for state streaming");
    }
    Publish();

    Status failed;
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
  // Runs one step, timing it; false if it failed (the report says why).
  bool Step(size_t i, const std::function<Outcome()>& body) {
    CutoverStep& step = r_.steps[i];
    step.status = StepStatus::kRunning;
    Publish();
    auto started = Clock::now();
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
    auto deadline = Clock::now() + options_.timeout;
    std::string last = "unknown";
    while (true) {
      SyncStatus st = ReadStatus(config_, /*peek_slot=*/false);
      if (st.lag_seconds) last = ThreeDecimals(*st.lag_seconds) + " s";
      if (st.run_alive && st.lag_seconds && *st.lag_seconds <= max_lag) {
        return Done("lag " + last + " <= max_lag " + ThreeDecimals(max_lag) + " s");
      }
      if (!st.run_alive) last += " and `run` is not up (" + st.state + ")";
      if (Clock::now() >= deadline) {
        throw StepFailure("lag never reached max_lag " + ThreeDecimals(max_lag) + " s within " +
                          FormatDuration(options_.timeout) + " (last: " + last + ")");
      }
      if (stop_) throw StepFailure("interrupted (SIGINT/SIGTERM)");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  Outcome Fence() {
    if (options_.dry_run) return Skipped("dry run");
    if (config_.cutover.fence == "none") return Skipped("cutover.fence = none");
    fence_started_ = Clock::now();
    fenced_ = true;  // from here on, a failure unfences, even of a half-done fence
    r_.state = CutoverState::kFenced;
    if (config_.cutover.fence == "command") {
      int rc = RunShell(config_.cutover.fence_command, {"STAGESYNC_STEP=fence"});
      if (rc != 0) throw StepFailure("fence_command exited with " + std::to_string(rc));
      return Done("fence_command done");
    }
    return Done(production_->Fence());
  }

  Outcome Marker() {
    auto started = Clock::now();
    Lsn marker = production_->WriteMarker();
    capture::SourcePosition source;  // for the binlog's file name in messages
    (void)capture::ReadSourcePosition(config_, &source);
    auto describe = [&](Lsn lsn) { return capture::FormatSourcePosition(config_, source, lsn); };
    auto deadline = started + config_.cutover.drain_timeout;
    if (config_.stream.transport == "kafka") return DrainKafka(marker, deadline, describe);
    while (true) {
      apply::AppliedPosition applied;
      if (Status s = apply::ReadAppliedPosition(config_, &applied); !s.ok()) {
        throw StepFailure(s.message());
      }
      if (applied.lsn >= marker) {
        return Done("applied " + describe(applied.lsn) + " >= marker " + describe(marker));
      }
      if (Clock::now() >= deadline) {
        throw StepFailure(
            "the marker at " + describe(marker) + " was not applied within cutover.drain_timeout " +
            FormatDuration(config_.cutover.drain_timeout) + " (applied: " + describe(applied.lsn) +
            "); is `stagesync run` up and applying?");
      }
      if (stop_) throw StepFailure("interrupted (SIGINT/SIGTERM)");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Capture and apply run apart: first everything up to the marker is confirmed by Kafka,
  // then apply's group has applied every partition up to where Kafka ends now.
  Outcome DrainKafka(Lsn marker, Clock::time_point deadline,
                     const std::function<std::string(Lsn)>& describe) {
    auto wait = [&](const std::string& what, const std::function<bool()>& done) {
      while (!done()) {
        if (Clock::now() >= deadline) {
          throw StepFailure(what + " within cutover.drain_timeout " +
                            FormatDuration(config_.cutover.drain_timeout) +
                            "; are `stagesync capture` and `stagesync apply` up?");
        }
        if (stop_) throw StepFailure("interrupted (SIGINT/SIGTERM)");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    };
    Lsn confirmed = 0;
    wait("Kafka did not confirm the marker at " + describe(marker), [&] {
      if (config_.source.kind == "mysql") {
        (void)capture::ReadCaptureResume(config_, &confirmed);
      } else {
        capture::SourcePosition source;
        if (capture::ReadSourcePosition(config_, &source).ok()) confirmed = source.slot_confirmed;
      }
      return confirmed >= marker;
    });
    std::vector<kafka::PartitionEnd> ends;
    if (Status s = kafka::PartitionEnds(config_, apply::KafkaTopicRegex(config_), &ends); !s.ok()) {
      throw StepFailure(s.message());
    }
    int64_t records = 0;
    wait("apply did not reach the end of every partition", [&] {
      std::vector<apply::KafkaPosition> positions;
      if (!apply::ReadKafkaPositions(config_, &positions).ok()) return false;
      std::map<std::pair<std::string, int32_t>, int64_t> next;
      for (const auto& p : positions) next[{p.topic, p.partition}] = p.next_offset;
      records = 0;
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
    auto lines = counters_->Sync(production_->Counters(tables_), tables_);
    synced_ = true;
    std::string out = std::to_string(lines.size()) + " counter" + (lines.size() == 1 ? "" : "s");
    for (const auto& l : lines) out += "; " + l;
    return Done(out);
  }

  Outcome Verify() {
    std::string out;
    if (config_.cutover.verify != "none") {
      VerifyReport report;
      bool checksum = config_.cutover.verify == "checksum";
      if (Status s = cutover::Verify(config_, checksum, nullptr, &report); !s.ok()) {
        throw StepFailure(s.message());
      }
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
        throw StepFailure("verify (" + config_.cutover.verify + ") found differences: " + diff);
      }
      out = std::to_string(report.tables.size()) + " tables equal (" + config_.cutover.verify + ")";
    } else {
      out = "no table comparison (cutover.verify = none)";
    }
    for (const auto& sql : config_.cutover.checks) {
      std::string value;
      bool ok = false;
      try {
        ok = CheckPasses(config_, sql, &value);
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
    int rc = RunShell(config_.cutover.switch_command, {"STAGESYNC_STEP=switch"});
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
        if (config_.cutover.fence == "command") {
          int rc = RunShell(config_.cutover.unfence_command, {"STAGESYNC_STEP=unfence"});
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
    if (Status s = record_.Write(CutoverStateName(r_.state), CutoverJson(r_)); !s.ok()) {
      LOG_WARN(s.message());
    }
  }

  const Config& config_;
  const CutoverOptions& options_;
  const std::atomic<bool>& stop_;
  const std::function<void(const CutoverReport&)>& progress_;
  CutoverReport& r_;
  CutoverRecord record_{config_};
  std::vector<TableShape> tables_;
  std::unique_ptr<Production> production_;
  std::unique_ptr<TargetCounters> counters_;
  std::optional<Clock::time_point> fence_started_;
  bool fenced_ = false, synced_ = false;
};

}  // namespace

Status RunCutover(const Config& config, const CutoverOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const CutoverReport&)>& progress,
                  CutoverReport* report) {
  return Machine(config, options, stop, progress, report).Run();
}

}  // namespace stagesync::cutover
