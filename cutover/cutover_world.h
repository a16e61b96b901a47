// The cutover state machine's seams: everything it reaches out to (production, the target, the
// sync's bookkeeping, Kafka, the shell, the clock), so that its guarantee is unit-tested with
// fakes while the integration tests run it against real servers through WorldFromConfig.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "production.h"
#include "stagesync/apply.h"
#include "stagesync/cutover.h"
#include "stagesync/kafka.h"
#include "stagesync/monitor.h"
#include "stagesync/verify.h"
#include "target_counters.h"

namespace stagesync::cutover {

// Where the sync stands, for step 3: the drain waits until these pass the marker.
class DrainProbe {
 public:
  virtual ~DrainProbe() = default;
  // How positions read in messages. Taken once the marker is written: MySQL positions are
  // named after the binlog file the source writes then.
  virtual std::function<std::string(Lsn)> PositionFormat() = 0;
  // transport = direct: the position apply has committed on the target.
  virtual Status ReadApplied(Lsn* applied) = 0;
  // transport = kafka: up to where Kafka has confirmed capture's records (nullopt: not known
  // now); where each partition of the stream's topics ends; apply's group's next offsets.
  virtual std::optional<Lsn> ReadKafkaConfirmed() = 0;
  virtual Status ReadPartitionEnds(std::vector<kafka::PartitionEnd>* ends) = 0;
  virtual Status ReadApplyOffsets(std::vector<apply::KafkaPosition>* positions) = 0;
};

// The collaborators of one cutover. Production and the target counters are opened only once
// the source check has passed, and live as long as the cutover.
struct CutoverWorld {
  // The selected tables, or why the source cannot be cut over (a usage error: exit 2).
  std::function<Status(std::vector<TableShape>* tables)> check_source;
  // Connect; throw with a message naming the database.
  std::function<std::unique_ptr<Production>()> open_production;
  std::function<std::unique_ptr<TargetCounters>()> open_target_counters;
  // The sync's status without peeking at the slot: the `run` streaming it must not be held up.
  std::function<monitor::SyncStatus()> read_status;
  std::unique_ptr<DrainProbe> drain;
  // Step 5: the table comparison; one `[cutover] checks` query, true when it passed, with
  // what it returned in *value (throws when it cannot run).
  std::function<Status(bool checksum, verify::VerifyReport* report)> verify;
  std::function<bool(const std::string& sql, std::string* value)> run_check;
  // fence_command, unfence_command and switch_command: the exit status (as RunShell).
  std::function<int(const std::string& command, const std::vector<std::string>& env)> run_shell;
  // Keeps the report where `status`, the monitor and the dashboard read it.
  std::function<Status(CutoverState state, const std::string& report_json)> write_record;
  // The clock of deadlines, step times and the waits between polls; the report's start time.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(Duration)> sleep;
  std::function<TimestampUs()> wall_now;
};

// The real collaborators: connections from `config`'s source and target, the real shell and
// clock. `config` must outlive the world.
CutoverWorld WorldFromConfig(const Config& config);

// The state machine itself (RunCutover(config, ...) is this in WorldFromConfig(config)).
// `config` gives the cutover's settings only; every effect goes through `world`.
Status RunCutover(CutoverWorld& world, const Config& config, const CutoverOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const CutoverReport&)>& progress, CutoverReport* report);

}  // namespace stagesync::cutover
