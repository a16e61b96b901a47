// The cutover's real collaborators: the source and target of the Config, the sync's
// bookkeeping and Kafka, /bin/sh and the steady clock.
#include "cutover_world.h"

#include <cstdlib>
#include <thread>

#include "record.h"
#include "stagesync/capture.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"
#include "stagesync/topics.h"

namespace stagesync::cutover {
namespace {

// One `[cutover] checks` query on the target: passes when its first row's first column is
// true (t, true, or a non-zero number).
bool CheckPasses(const Config& config, const std::string& sql, std::string* value) {
  std::optional<std::string> v;
  if (config.target.kind == Engine::kMysql) {
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

class BookkeepingDrain : public DrainProbe {
 public:
  explicit BookkeepingDrain(const Config& config) : config_(config) {}

  std::function<std::string(Lsn)> PositionFormat() override {
    capture::SourcePosition source;  // for the binlog's file name
    (void)capture::ReadSourcePosition(config_, &source);
    return [this, source](Lsn lsn) { return capture::FormatSourcePosition(config_, source, lsn); };
  }

  Status ReadApplied(Lsn* applied) override {
    apply::AppliedPosition position;
    Status s = apply::ReadAppliedPosition(config_, &position);
    *applied = position.lsn;
    return s;
  }

  std::optional<Lsn> ReadKafkaConfirmed() override {
    if (config_.source.kind == Engine::kMysql) {
      Lsn resume = 0;
      (void)capture::ReadCaptureResume(config_, &resume);
      return resume;
    }
    capture::SourcePosition source;
    if (!capture::ReadSourcePosition(config_, &source).ok()) return std::nullopt;
    return source.slot_confirmed;
  }

  Status ReadPartitionEnds(std::vector<kafka::PartitionEnd>* ends) override {
    return kafka::PartitionEnds(config_, topics::ApplyTopicRegex(config_), ends);
  }

  Status ReadApplyOffsets(std::vector<apply::KafkaPosition>* positions) override {
    return apply::ReadKafkaPositions(config_, positions);
  }

 private:
  const Config& config_;
};

}  // namespace

CutoverWorld WorldFromConfig(const Config& config) {
  CutoverWorld w;
  w.check_source = [&config](std::vector<TableShape>* tables) {
    capture::SourceCheck check;
    if (Status s = capture::CheckSource(config, &check); !s.ok()) return s;
    if (!check.problems.empty()) return Status::Usage("source: " + check.problems.front());
    *tables = check.tables;
    return Status::Ok();
  };
  w.open_production = [&config] { return Production::Open(config); };
  w.open_target_counters = [&config] { return TargetCounters::Open(config); };
  w.read_status = [&config] { return monitor::ReadStatus(config, /*peek_slot=*/false); };
  w.drain = std::make_unique<BookkeepingDrain>(config);
  w.verify = [&config](bool checksum, verify::VerifyReport* report) {
    return verify::Verify(config, checksum, nullptr, report);
  };
  w.run_check = [&config](const std::string& sql, std::string* value) {
    return CheckPasses(config, sql, value);
  };
  w.run_shell = RunShell;
  // One connection for the whole cutover: the report is written several times while fenced.
  auto record = std::make_shared<CutoverRecord>(config);
  w.write_record = [record](CutoverState state, const std::string& report_json) {
    return record->Write(CutoverStateName(state), report_json);
  };
  w.now = [] { return std::chrono::steady_clock::now(); };
  w.sleep = [](Duration d) { std::this_thread::sleep_for(d); };
  w.wall_now = NowUs;
  return w;
}

}  // namespace stagesync::cutover
