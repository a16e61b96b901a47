// `status`: where the sync stands, read from the target's bookkeeping, the source's position
// and (transport = kafka) the brokers, and written as the contract's JSON and as text.
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "cutover_record.h"
#include "render.h"
#include "stagesync/json.h"
#include "stagesync/kafka.h"
#include "stagesync/monitor.h"
#include "stagesync/run.h"
#include "stagesync/secrets.h"
#include "stagesync/topics.h"
#include "status_derivation.h"

namespace stagesync::monitor {
namespace {

std::string IsoTime(TimestampUs us) {
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
  return out;
}

double Seconds(int64_t us) {
  return std::max(0.0, static_cast<double>(us) / 1e6);
}

int64_t FreshnessLimitUs(const Config& config) {
  int64_t beat =
      std::chrono::duration_cast<std::chrono::microseconds>(config.monitor.heartbeat_interval)
          .count();
  return std::max<int64_t>(5'000'000, 3 * beat);
}

}  // namespace

StreamDerivation DeriveStreamStatus(const Config& config, const StreamReads& reads) {
  StreamDerivation out;
  SyncStatus& st = out.status;
  const apply::AppliedPosition& applied = reads.applied;
  const capture::SourcePosition& source = reads.source;
  st.slot = config.source.slot;
  if (!reads.applied_read.ok()) {
    st.state = "error";
    st.error = reads.applied_read.message();
    return out;
  }
  if (!reads.source_read.ok()) {
    st.state = "error";
    st.error = reads.source_read.message();
  }
  if (!applied.found) {
    st.state = "error";
    st.error = "the target has no bookkeeping for stream " + config.source.slot +
               ": run `stagesync setup`";
    return out;
  }
  st.applied_position = capture::FormatSourcePosition(config, source, applied.lsn);
  st.events_applied = applied.events_applied;
  st.transactions_applied = applied.transactions_applied;
  st.applied_commit_time = applied.commit_time;
  if (source.current) {
    st.source_position = capture::FormatSourcePosition(config, source, source.current);
    // The slot may be confirmed past the last applied transaction when nothing in between
    // concerned us; that stretch is not "behind".
    Lsn done = std::max(applied.lsn, source.slot_confirmed);
    st.source_bytes_behind = capture::SourceBytesBehind(source, done);
  }
  if (st.state == "error") return out;
  if (!source.slot_exists) {
    st.state = "error";
    st.error = (config.source.kind == Engine::kMysql
                    ? "stream " + config.source.slot + " has no start position on the source"
                    : "slot " + config.source.slot + " does not exist on the source") +
               ": run `stagesync setup`";
    return out;
  }
  st.run_alive = source.slot_active && applied.live_at &&
                 applied.target_now - *applied.live_at <= FreshnessLimitUs(config);
  if (applied.live_state == "error") {
    // The last run (or apply) stopped on this; what is behind is told below, as when idle.
    st.run_alive = false;
    st.state = "error";
    st.error = "stopped on an error: " + applied.last_error;
  }
  if (st.run_alive) {
    // Nothing left at the source beyond what is applied: 0, whatever the last sample said.
    bool caught_up = st.source_bytes_behind && *st.source_bytes_behind == 0;
    st.lag_seconds = caught_up ? 0.0 : applied.live_lag_seconds.value_or(0.0);
    st.state = caught_up || applied.live_state.empty() ? "streaming" : applied.live_state;
    return out;
  }
  if (st.state != "error") st.state = "idle";
  // When something streams the slot but has not reported recently, the lag is not knowable
  // here; when nothing does, the slot tells it.
  out.lag_needs_peek = !source.slot_active;
  return out;
}

double LagFromOldestPending(TimestampUs source_now, std::optional<TimestampUs> oldest) {
  return oldest ? Seconds(source_now - *oldest) : 0.0;
}

// Capture and apply run apart: both must be up; the lag is capture's (what Kafka has not
// confirmed) or, while apply has records in Kafka still to apply, the age of its last applied
// commit, whichever is more (an upper bound: the oldest record not applied is younger).
void DeriveKafkaStatus(const Config& config, const KafkaReads& reads, SyncStatus* st) {
  st->kafka_lag = reads.kafka_lag;
  const std::optional<capture::CaptureLive>& capture = reads.capture;
  const double fresh = static_cast<double>(FreshnessLimitUs(config)) / 1e6;
  if (!st->run_alive || !capture || capture->age_seconds > fresh) {
    if (st->run_alive) st->state = "idle";
    st->run_alive = false;
    if (st->state == "idle") st->lag_seconds.reset();
    return;
  }
  if (!st->kafka_lag) {
    st->lag_seconds.reset();
    return;
  }
  int64_t pending = 0;
  for (const auto& k : *st->kafka_lag) pending += k.lag;
  double apply_lag = 0;
  if (pending > 0 && st->applied_commit_time) {
    apply_lag = Seconds(reads.now - *st->applied_commit_time);
  }
  st->lag_seconds = std::max(capture->lag_seconds, apply_lag);
  st->state = run::LiveState(config, *st->lag_seconds);
}

void ApplyCutoverState(const std::string& cutover_state, SyncStatus* st) {
  // While production is fenced, and once switched, that is where the sync stands.
  if (cutover_state == "fenced") st->state = "fenced";
  if (cutover_state == "done") st->state = "cutover_done";
}

namespace {

SyncStatus ReadStreamStatus(const Config& config, bool peek_slot) {
  StreamReads reads;
  reads.applied_read = apply::ReadAppliedPosition(config, &reads.applied);
  if (reads.applied_read.ok()) {
    reads.source_read = capture::ReadSourcePosition(config, &reads.source);
  }
  StreamDerivation derived = DeriveStreamStatus(config, reads);
  SyncStatus& st = derived.status;
  std::optional<TimestampUs> pending;
  if (derived.lag_needs_peek && peek_slot &&
      capture::PeekOldestPendingCommit(config, reads.applied.lsn, std::chrono::seconds(10),
                                       &pending)
          .ok()) {
    st.lag_seconds = LagFromOldestPending(reads.source.source_now, pending);
  }
  return st;
}

// Records in Kafka that apply's group has not applied yet, per partition.
std::optional<std::vector<SyncStatus::KafkaLag>> KafkaConsumerLag(const Config& config) {
  std::vector<kafka::PartitionEnd> ends;
  std::vector<apply::KafkaPosition> positions;
  if (!kafka::PartitionEnds(config, topics::ApplyTopicRegex(config), &ends).ok() ||
      !apply::ReadKafkaPositions(config, &positions).ok()) {
    return std::nullopt;
  }
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (const auto& p : positions) next[{p.topic, p.partition}] = p.next_offset;
  std::vector<SyncStatus::KafkaLag> lags;
  for (const auto& e : ends) {
    auto it = next.find({e.topic, e.partition});
    int64_t done = it == next.end() ? 0 : it->second;
    lags.push_back({e.topic, e.partition, std::max<int64_t>(0, e.high - done)});
  }
  return lags;
}

void KafkaView(const Config& config, SyncStatus* st) {
  KafkaReads reads;
  reads.kafka_lag = KafkaConsumerLag(config);
  (void)capture::ReadCaptureLive(config, &reads.capture);
  reads.now = NowUs();
  DeriveKafkaStatus(config, reads, st);
}

}  // namespace

SyncStatus ReadStatus(const Config& config, bool peek_slot) {
  SyncStatus st = ReadStreamStatus(config, peek_slot);
  if (config.stream.transport == Transport::kKafka && st.state != "error") KafkaView(config, &st);
  std::string state;
  if (ReadCutoverRecord(config, &state, &st.cutover_json).ok()) ApplyCutoverState(state, &st);
  for (const auto& d : config.upgrade.rules.dropped) {
    st.dropped_tables.push_back({d.table, d.name, d.reason});
  }
  ReadCopyView(config, &st);
  // The error comes from drivers and from the target's bookkeeping: both may quote a secret,
  // and the status goes to stdout, the monitor and the dashboard.
  st.error = ScrubSecrets(st.error);
  st.cutover_json = ScrubSecrets(st.cutover_json);
  return st;
}

void WriteStatusMembers(json::Writer& w, const SyncStatus& s) {
  w.Key("state").String(s.state);
  w.Key("lag_seconds").FixedOrNull(s.lag_seconds, 3);
  w.Key("source_bytes_behind").IntOrNull(s.source_bytes_behind);
  w.Key("applied_position").String(s.applied_position);
  w.Key("events_applied").Uint(s.events_applied);
  w.Key("transactions_applied").Uint(s.transactions_applied);
  w.Key("source_position").StringOrNull(s.source_position);
  w.Key("slot").String(s.slot);
  w.Key("applied_commit_time");
  if (s.applied_commit_time) {
    w.String(IsoTime(*s.applied_commit_time));
  } else {
    w.Null();
  }
  w.Key("run_alive").Bool(s.run_alive);
  // The contract's fields above are always there; these only when they say something.
  if (!s.error.empty()) w.Key("error").String(s.error);
  if (!s.cutover_json.empty()) w.Key("cutover").Raw(s.cutover_json);
  if (!s.dropped_tables.empty()) {
    w.Key("dropped_tables").StartArray();
    for (const auto& d : s.dropped_tables) {
      w.StartObject().Key("table").String(d.table).Key("rule").String(d.rule);
      w.Key("reason").String(d.reason).EndObject();
    }
    w.EndArray();
  }
  if (s.copy) WriteCopyMember(w, *s.copy);
  if (s.kafka_lag) {
    w.Key("kafka_consumer_lag").StartArray();
    for (const auto& k : *s.kafka_lag) {
      w.StartObject().Key("topic").String(k.topic);
      w.Key("partition").Int(k.partition).Key("lag").Int(k.lag).EndObject();
    }
    w.EndArray();
  }
}

std::string StatusJson(const SyncStatus& s) {
  json::Writer w;
  w.StartObject();
  WriteStatusMembers(w, s);
  w.EndObject();
  return w.str();
}

std::string StatusText(const SyncStatus& s) {
  std::ostringstream out;
  char lag[32] = "unknown";
  if (s.lag_seconds) std::snprintf(lag, sizeof lag, "%.3f s", *s.lag_seconds);
  out << "state                 " << s.state << (s.run_alive ? " (run is up)" : "") << "\n"
      << "lag                   " << lag << "\n"
      << "source bytes behind   "
      << (s.source_bytes_behind ? std::to_string(*s.source_bytes_behind) : "unknown") << "\n"
      << "applied position      " << (s.applied_position.empty() ? "-" : s.applied_position) << "\n"
      << "source position       " << (s.source_position.empty() ? "-" : s.source_position) << "\n"
      << "applied commit time   " << (s.applied_commit_time ? IsoTime(*s.applied_commit_time) : "-")
      << "\n"
      << "events applied        " << s.events_applied << "\n"
      << "transactions applied  " << s.transactions_applied << "\n";
  if (!s.error.empty()) out << "error                 " << s.error << "\n";
  for (const auto& d : s.dropped_tables) {
    out << "dropped by rule       " << d.table << " (" << d.rule << ": " << d.reason << ")\n";
  }
  if (s.copy) out << CopyText(*s.copy);
  if (s.kafka_lag) {
    int64_t total = 0;
    std::string behind;
    for (const auto& k : *s.kafka_lag) {
      total += k.lag;
      if (k.lag > 0)
        behind += " " + k.topic + "/" + std::to_string(k.partition) + ":" + std::to_string(k.lag);
    }
    out << "kafka consumer lag    " << total << " records" << behind << "\n";
  }
  if (!s.cutover_json.empty()) {
    rapidjson::Document d;
    if (!d.Parse(s.cutover_json.c_str()).HasParseError() && d.IsObject() && d.HasMember("state")) {
      std::string line = d["state"].GetString();
      if (d.HasMember("downtime_seconds") && d["downtime_seconds"].IsNumber()) {
        char buf[48];
        std::snprintf(buf, sizeof buf, ", downtime %.3f s", d["downtime_seconds"].GetDouble());
        line += buf;
      }
      if (d.HasMember("failed_step") && d["failed_step"].IsString()) {
        line += std::string(", failed at ") + d["failed_step"].GetString() + ": " +
                (d.HasMember("error") && d["error"].IsString() ? d["error"].GetString() : "");
      }
      if (d.HasMember("step") && d["step"].IsString()) {
        line += std::string(", now at ") + d["step"].GetString();
      }
      out << "last cutover          " << line << "\n";
    }
  }
  return out.str();
}

}  // namespace stagesync::monitor
