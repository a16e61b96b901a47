// What the monitor serves, as text: Prometheus' exposition format and the live additions to
// the status JSON.
#include <cstdio>
#include <sstream>

#include "render.h"
#include "stagesync/json.h"

namespace stagesync::monitor {
namespace {

void Metric(std::ostringstream& out, const char* name, const char* help, const char* type,
            const std::string& value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << value << "\n";
}

// Seconds as Prometheus and the live JSON spell them: "%.9g".
constexpr int kDigits = 9;
std::string Number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", kDigits, v);
  return buf;
}

constexpr const char* kOpNames[] = {"insert", "update", "delete", "truncate"};

}  // namespace

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string MetricsText(const SyncStatus& s, const apply::ApplyMetrics::Snapshot* live) {
  std::ostringstream out;
  if (s.lag_seconds) {
    Metric(out, "stagesync_lag_seconds",
           "Seconds since the source commit of the oldest change not yet applied.", "gauge",
           Number(*s.lag_seconds));
  }
  if (s.source_bytes_behind) {
    Metric(out, "stagesync_source_bytes_behind",
           "Source WAL/binlog bytes between the source's position and the applied position.",
           "gauge", std::to_string(*s.source_bytes_behind));
  }
  out << "# HELP stagesync_events_applied_total Row changes applied, by source table and "
         "operation (since this process started).\n"
      << "# TYPE stagesync_events_applied_total counter\n";
  if (live) {
    for (const auto& [table, ops] : live->tables) {
      for (int op = 0; op < apply::ApplyMetrics::kOps; ++op) {
        out << "stagesync_events_applied_total{table=\"" << Label(table) << "\",op=\""
            << kOpNames[op] << "\"} " << ops[op] << "\n";
      }
    }
  }
  Metric(out, "stagesync_events_applied_since_setup", "Row changes applied since setup.", "gauge",
         std::to_string(s.events_applied));
  Metric(out, "stagesync_transactions_applied_total", "Source transactions applied since setup.",
         "counter", std::to_string(s.transactions_applied));
  if (live) {
    out << "# HELP stagesync_apply_batch_seconds Duration of apply's target transactions.\n"
        << "# TYPE stagesync_apply_batch_seconds histogram\n";
    const auto& bounds = apply::ApplyMetrics::BatchBuckets();
    for (size_t i = 0; i < bounds.size(); ++i) {
      out << "stagesync_apply_batch_seconds_bucket{le=\"" << Number(bounds[i]) << "\"} "
          << live->batch_buckets[i] << "\n";
    }
    out << "stagesync_apply_batch_seconds_bucket{le=\"+Inf\"} " << live->batch_count << "\n"
        << "stagesync_apply_batch_seconds_sum " << Number(live->batch_sum_seconds) << "\n"
        << "stagesync_apply_batch_seconds_count " << live->batch_count << "\n";
  }
  if (s.kafka_lag) {
    out << "# HELP stagesync_kafka_consumer_lag Records in Kafka apply has not applied, by "
           "partition.\n# TYPE stagesync_kafka_consumer_lag gauge\n";
    for (const auto& k : *s.kafka_lag) {
      out << "stagesync_kafka_consumer_lag{topic=\"" << Label(k.topic) << "\",partition=\""
          << k.partition << "\"} " << k.lag << "\n";
    }
  }
  if (s.copy) out << CopyMetrics(*s.copy);
  Metric(out, "stagesync_run_alive", "1 while a stagesync run is streaming this stream.", "gauge",
         s.run_alive ? "1" : "0");
  out << "# HELP stagesync_state The sync's state (1 for the current one).\n"
      << "# TYPE stagesync_state gauge\n";
  for (const char* state :
       {"idle", "streaming", "catching_up", "fenced", "cutover_done", "error"}) {
    out << "stagesync_state{state=\"" << state << "\"} " << (s.state == state ? 1 : 0) << "\n";
  }
  return out.str();
}

std::string LiveStatusJson(const SyncStatus& status, const apply::ApplyMetrics::Snapshot& live) {
  json::Writer w;
  w.StartObject();
  WriteStatusMembers(w, status);
  w.Key("tables").StartArray();
  for (const auto& [table, ops] : live.tables) {
    w.StartObject().Key("table").String(table);
    for (int op = 0; op < apply::ApplyMetrics::kOps; ++op) w.Key(kOpNames[op]).Uint(ops[op]);
    w.EndObject();
  }
  w.EndArray();
  w.Key("apply_batch").StartObject().Key("count").Uint(live.batch_count);
  w.Key("sum_seconds").Significant(live.batch_sum_seconds, kDigits);
  w.Key("last_seconds").Significant(live.last_batch_seconds, kDigits).EndObject();
  w.EndObject();
  return w.str();
}

}  // namespace stagesync::monitor
