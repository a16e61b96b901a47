// Fakes of everything the cutover state machine reaches out to, for its unit tests: production,
// the target's counters, the sync's bookkeeping, the shell and a clock that moves only when
// the machine sleeps. Each call is journalled, and any of them can be made to fail.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cutover_world.h"

namespace stagesync::cutover::fake {

class FakeWorld {
 public:
  // The script. Names in `failing` make that call throw or return an error (see Note()).
  Status source = Status::Ok();
  std::vector<std::string> privilege_problems;
  bool run_alive = true;
  double lag_seconds = 0.5;
  std::set<std::string> failing;
  Lsn marker = 1000;
  Lsn applied = 1000;
  Lsn kafka_confirmed = 1000;
  std::vector<kafka::PartitionEnd> partition_ends = {{"stagesync.public.t", 0, 7}};
  std::vector<apply::KafkaPosition> apply_offsets = {{"stagesync.public.t", 0, 7, 0}};
  verify::VerifyReport verify_report = EqualTables();
  std::map<std::string, std::string> check_results;  // sql -> its value; others cannot run
  std::map<std::string, int> exit_status;            // shell command -> exit status (else 0)
  // Called with each call's name as it is made: to interrupt, or to let time pass, there.
  std::function<void(const std::string& call)> on_call;

  // What happened.
  std::vector<std::string> calls;  // "fence", "sh switch.sh STAGESYNC_STEP=switch", ...
  std::vector<CutoverState> records;
  std::chrono::steady_clock::time_point now{};
  std::atomic<bool> stop{false};

  static verify::VerifyReport EqualTables() {
    verify::VerifyReport r;
    verify::TableVerdict t;
    t.source_table = t.target_table = "public.t";
    t.source_rows = t.target_rows = 3;
    r.tables.push_back(t);
    return r;
  }

  size_t Count(const std::string& call) const {
    return std::count(calls.begin(), calls.end(), call);
  }
  bool Called(const std::string& call) const { return Count(call) > 0; }
  bool CalledStartingWith(const std::string& prefix) const {
    return std::any_of(calls.begin(), calls.end(),
                       [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
  }
  // Where `call` was first made in the journal; calls.size() if never.
  size_t Position(const std::string& call) const {
    return std::find(calls.begin(), calls.end(), call) - calls.begin();
  }

  // Journals `call`; true if the script says it fails.
  bool Note(const std::string& call) {
    calls.push_back(call);
    if (on_call) on_call(call);
    return failing.count(call) > 0;
  }
  void Throw(const std::string& call) {
    if (Note(call)) throw std::runtime_error(call + " broke");
  }
  Status Fail(const std::string& call) {
    return Note(call) ? Status::Error(call + " broke") : Status::Ok();
  }

  CutoverWorld World();
};

class FakeProduction : public Production {
 public:
  explicit FakeProduction(FakeWorld& w) : w_(w) {}
  std::vector<std::string> CheckPrivileges() override {
    w_.Throw("check_privileges");
    return w_.privilege_problems;
  }
  std::string Fence() override {
    w_.Throw("fence");
    return "production read-only";
  }
  std::string Unfence() override {
    w_.Throw("unfence");
    return "production writable again";
  }
  Lsn WriteMarker() override {
    w_.Throw("write_marker");
    return w_.marker;
  }
  std::vector<SourceCounter> Counters(const std::vector<TableShape>& /*tables*/) override {
    w_.Throw("source_counters");
    return {SourceCounter{"public", "t_id_seq", "t", "id", 42}};
  }

 private:
  FakeWorld& w_;
};

class FakeTargetCounters : public TargetCounters {
 public:
  explicit FakeTargetCounters(FakeWorld& w) : w_(w) {}
  std::vector<std::string> Sync(const std::vector<SourceCounter>& /*counters*/,
                                const std::vector<TableShape>& /*tables*/) override {
    w_.Throw("sync");
    return {"public.t_id_seq 7 -> 42"};
  }
  void Restore() override { w_.Throw("restore"); }

 private:
  FakeWorld& w_;
};

class FakeDrain : public DrainProbe {
 public:
  explicit FakeDrain(FakeWorld& w) : w_(w) {}
  std::function<std::string(Lsn)> PositionFormat() override {
    return [](Lsn lsn) { return "@" + std::to_string(lsn); };
  }
  Status ReadApplied(Lsn* applied) override {
    *applied = w_.applied;
    return w_.Fail("read_applied");
  }
  std::optional<Lsn> ReadKafkaConfirmed() override {
    if (w_.Note("kafka_confirmed")) return std::nullopt;
    return w_.kafka_confirmed;
  }
  Status ReadPartitionEnds(std::vector<kafka::PartitionEnd>* ends) override {
    *ends = w_.partition_ends;
    return w_.Fail("partition_ends");
  }
  Status ReadApplyOffsets(std::vector<apply::KafkaPosition>* positions) override {
    *positions = w_.apply_offsets;
    return w_.Fail("apply_offsets");
  }

 private:
  FakeWorld& w_;
};

inline CutoverWorld FakeWorld::World() {
  CutoverWorld w;
  w.check_source = [this](std::vector<TableShape>* tables) {
    Note("check_source");
    *tables = {TableShape{"public", "t", {"id", "v"}}};
    return source;
  };
  w.open_production = [this]() -> std::unique_ptr<Production> {
    Throw("open_production");
    return std::make_unique<FakeProduction>(*this);
  };
  w.open_target_counters = [this]() -> std::unique_ptr<TargetCounters> {
    Throw("open_target_counters");
    return std::make_unique<FakeTargetCounters>(*this);
  };
  w.read_status = [this] {
    Note("read_status");
    monitor::SyncStatus st;
    st.state = run_alive ? "streaming" : "idle";
    st.run_alive = run_alive;
    st.lag_seconds = lag_seconds;
    return st;
  };
  w.drain = std::make_unique<FakeDrain>(*this);
  w.verify = [this](bool checksum, verify::VerifyReport* report) {
    *report = verify_report;
    return Fail(checksum ? "verify checksum" : "verify");
  };
  w.run_check = [this](const std::string& sql, std::string* value) {
    Note("check " + sql);
    auto it = check_results.find(sql);
    if (it == check_results.end()) throw std::runtime_error("no such table");
    *value = it->second;
    return it->second == "t";
  };
  w.run_shell = [this](const std::string& command, const std::vector<std::string>& env) {
    std::string call = "sh " + command;
    for (const auto& e : env) call += " " + e;
    Note(call);
    auto it = exit_status.find(command);
    return it == exit_status.end() ? 0 : it->second;
  };
  w.write_record = [this](CutoverState state, const std::string&) {
    records.push_back(state);
    return Status::Ok();
  };
  w.now = [this] { return now; };
  w.sleep = [this](Duration d) { now += d; };
  w.wall_now = [] { return TimestampUs{1700000000000000}; };
  return w;
}

// A cutover that passes as scripted: fence read-only, a switch_command, one-second timeouts.
struct Scenario {
  FakeWorld world;
  Config config;
  CutoverOptions options;
  CutoverReport report;
  Scenario() {
    config.cutover.switch_command = "switch.sh";
    config.cutover.drain_timeout = std::chrono::seconds(1);
    options.timeout = std::chrono::seconds(1);
  }
  void FenceByCommand() {
    config.cutover.fence = FenceMode::kCommand;
    config.cutover.fence_command = "fence.sh";
    config.cutover.unfence_command = "unfence.sh";
  }
  Status Run() {
    CutoverWorld w = world.World();
    return RunCutover(w, config, options, world.stop, nullptr, &report);
  }
};

}  // namespace stagesync::cutover::fake
