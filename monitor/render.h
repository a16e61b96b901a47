// The monitor's bodies from values alone, without I/O: monitor.cc serves them and the unit
// tests compare them byte for byte.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "stagesync/apply.h"
#include "stagesync/json.h"
#include "stagesync/monitor.h"

namespace stagesync::monitor {

// The status JSON's members, in the contract's order, into an object the caller has started
// (StatusJson is exactly them; LiveStatusJson adds its own after them).
void WriteStatusMembers(json::Writer& w, const SyncStatus& status);

// A Prometheus label value (a table name) with what the format requires escaped.
std::string Label(const std::string& value);

// The copy's part of the status: read from the target's bookkeeping; its JSON member, its
// lines of text and its metrics (stagesync_copy_*).
void ReadCopyView(const Config& config, SyncStatus* status);
void WriteCopyMember(json::Writer& w, const SyncStatus::Copy& copy);
std::string CopyText(const SyncStatus::Copy& copy);
std::string CopyMetrics(const SyncStatus::Copy& copy);

// The status in Prometheus' text exposition format (what GET /metrics serves); with `live`,
// the running applier's per-table counters and batch-duration histogram too.
std::string MetricsText(const SyncStatus& status,
                        const apply::ApplyMetrics::Snapshot* live = nullptr);
// What GET /status serves from `run`: the status JSON with the running applier's "tables" and
// "apply_batch" added.
std::string LiveStatusJson(const SyncStatus& status, const apply::ApplyMetrics::Snapshot& live);

// One point of the dashboard's charts.
struct Sample {
  double t = 0;  // unix seconds
  std::string state;
  std::optional<double> lag_seconds;
  std::optional<int64_t> source_bytes_behind;
  uint64_t events_applied = 0, transactions_applied = 0;
};
// GET /history: the samples, oldest first.
std::string HistoryJson(const std::deque<Sample>& samples);

}  // namespace stagesync::monitor
