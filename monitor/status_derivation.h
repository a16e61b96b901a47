// The pure half of `status`: how the state, the lag and the positions follow from what was
// read from the source, the target's bookkeeping and the cutover record. status.cc reads,
// these derive; they touch no database and no clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/monitor.h"

namespace stagesync::monitor {

// What `status` reads for the stream, each read with its outcome.
struct StreamReads {
  Status applied_read;  // ReadAppliedPosition
  apply::AppliedPosition applied;
  Status source_read;  // ReadSourcePosition (`source` as far as it got)
  capture::SourcePosition source;
};

struct StreamDerivation {
  SyncStatus status;
  // Nothing streams the slot and nothing else has told the lag: peeking at the slot from the
  // applied position tells it (LagFromOldestPending), for callers that may hold the slot.
  bool lag_needs_peek = false;
};
StreamDerivation DeriveStreamStatus(const Config& config, const StreamReads& reads);

// The lag while nothing streams the slot: the age, by the source's clock, of the oldest
// transaction it holds for us (`oldest` commit time; nullopt: none, so 0).
double LagFromOldestPending(TimestampUs source_now, std::optional<TimestampUs> oldest);

// transport = "kafka": capture and apply run apart, each reporting on its own.
struct KafkaReads {
  std::optional<std::vector<SyncStatus::KafkaLag>> kafka_lag;  // nullopt: brokers not asked
  std::optional<capture::CaptureLive> capture;                 // nullopt: capture never reported
  TimestampUs now = 0;
};
// Refines a stream status that is not "error" with the Kafka view.
void DeriveKafkaStatus(const Config& config, const KafkaReads& reads, SyncStatus* status);

// The last cutover's recorded state ("fenced", "done", ...; "" for none) over the sync's.
void ApplyCutoverState(const std::string& cutover_state, SyncStatus* status);

}  // namespace stagesync::monitor
