// apply <- Kafka: Debezium records (from stagesync capture or from Debezium) decoded, mapped
// and applied with the same applier as `run`; offsets stored in the target with the data.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "session_applier.h"
#include "stagesync/apply.h"
#include "stagesync/debezium.h"
#include "stagesync/kafka.h"
#include "stagesync/log.h"
#include "stagesync/topics.h"

namespace stagesync::apply {
namespace {

using Position = std::tuple<Lsn, Lsn, int64_t>;  // commit, lsn, order in transaction

// Whether `here` was applied already by the partition's last applied record `done`. Only a
// commit position orders records across transactions (a transaction that wrote first may
// commit last, so its lsns are lower); records without one (Debezium 1.x, or sequence
// [null, ...]) are never skipped by position: the stored offset alone keeps them once.
bool AppliedAlready(const Position& here, const Position& done) {
  return std::get<0>(here) != 0 && std::get<0>(done) != 0 && here <= done;
}

// The relation a record describes: its columns and key, shared while the shape holds.
class Relations {
 public:
  RelationPtr For(const debezium::DecodedRecord& r) {
    std::string sig = r.schema + "." + r.table + "|";
    for (const auto& c : r.columns) sig += c + ",";
    sig += "|";
    for (const auto& k : r.key_columns) sig += k + ",";
    auto it = cache_.find(sig);
    if (it != cache_.end()) return it->second;
    auto rel = std::make_shared<SourceRelation>();
    rel->schema = r.schema;
    rel->name = r.table;
    rel->replica_identity = r.key_columns.empty() ? 'f' : 'd';
    auto add = [&](const std::string& name) {
      SourceColumn c;
      c.name = name;
      c.part_of_key =
          std::find(r.key_columns.begin(), r.key_columns.end(), name) != r.key_columns.end();
      rel->columns.push_back(std::move(c));
    };
    for (const auto& c : r.columns) add(c);
    for (const auto& k : r.key_columns) {
      if (std::find(r.columns.begin(), r.columns.end(), k) == r.columns.end()) add(k);
    }
    return cache_.emplace(sig, rel).first->second;
  }

 private:
  std::map<std::string, RelationPtr> cache_;
};

// The change a record stands for, by the relation's columns.
bool ToChange(const debezium::DecodedRecord& r, const RelationPtr& rel, ChangeEvent* out) {
  auto widen = [&](const std::optional<Tuple>& t) {
    Tuple full(rel->columns.size(), Value::Null());
    if (t) {
      for (size_t i = 0; i < t->size() && i < full.size(); ++i) full[i] = (*t)[i];
    }
    for (size_t k = 0; k < r.key_columns.size(); ++k) {
      for (size_t i = 0; i < rel->columns.size(); ++i) {
        if (rel->columns[i].name == r.key_columns[k] &&
            (!t || full[i].is_unchanged() || full[i].is_null())) {
          full[i] = r.key[k];
        }
      }
    }
    return full;
  };
  if (r.kind == debezium::DecodedRecord::Kind::kTruncate) {
    TruncateChange t;
    t.lsn = r.lsn;
    t.relations.push_back(rel);
    *out = std::move(t);
    return true;
  }
  RowChange c;
  c.relation = rel;
  c.lsn = r.lsn;
  switch (r.op) {
    case 'c':
    case 'r':
      c.op = RowOp::kInsert;
      c.new_tuple = widen(r.after);
      break;
    case 'u':
      c.op = RowOp::kUpdate;
      c.new_tuple = widen(r.after);
      if (r.before) {
        // A full `before` (REPLICA IDENTITY FULL) holds what `after` leaves unavailable.
        c.old_tuple = widen(r.before);
        FillUnchangedFromOld(c);
        if (rel->replica_identity != 'f') c.old_tuple.clear();
      }
      break;
    case 'd':
      c.op = RowOp::kDelete;
      c.old_tuple = widen(r.before);
      break;
    default:
      return false;
  }
  *out = std::move(c);
  return true;
}

// One consumed record: the change it stands for (none for records skipped or set aside) and
// its partition's position once it is applied.
struct Consumed {
  const kafka::Message* message = nullptr;
  std::optional<ChangeEvent> event;
  TimestampUs source_time = 0;
  KafkaPosition position;
};

// The events of `consumed`, with a commit marker carrying the newest source time.
std::vector<ChangeEvent> BatchEvents(const std::vector<Consumed>& consumed) {
  std::vector<ChangeEvent> events;
  TimestampUs newest = 0;
  for (const Consumed& c : consumed) {
    if (!c.event) continue;
    events.push_back(*c.event);
    newest = std::max(newest, c.source_time);
  }
  if (newest) {
    TxnCommit marker;
    marker.commit_time = newest;
    events.push_back(marker);
  }
  return events;
}

}  // namespace

Status ReadKafkaPositions(const Config& config, std::vector<KafkaPosition>* out) {
  std::unique_ptr<KafkaTarget> target;
  if (Status s = OpenKafkaTarget(config, &target); !s.ok()) return s;
  return target->LoadKafkaPositions(topics::ApplyGroupId(config), out);
}

Status RunKafkaApply(const Config& config, const std::atomic<bool>& stop, std::atomic<bool>* up) {
  std::unique_ptr<KafkaTarget> applier;
  if (Status s = OpenKafkaTarget(config, &applier); !s.ok()) return s;
  const std::string group = topics::ApplyGroupId(config);
  const std::string dead_letter = topics::DeadLetterTopic(config);
  std::vector<KafkaPosition> stored;
  if (Status s = applier->LoadKafkaPositions(group, &stored); !s.ok()) return s;
  std::map<std::pair<std::string, int32_t>, KafkaPosition> positions;
  for (auto& p : stored) positions[{p.topic, p.partition}] = p;

  const std::string regex = topics::ApplyTopicRegex(config);
  // On every assignment, read the positions back from the target: another apply process of
  // the group may have advanced a partition this one is taking over.
  auto stored_offset = [&](const std::string& topic, int32_t partition) -> std::optional<int64_t> {
    std::vector<KafkaPosition> fresh;
    if (applier->LoadKafkaPositions(group, &fresh).ok()) {
      for (auto& p : fresh) positions[{p.topic, p.partition}] = p;
    }
    auto it = positions.find({topic, partition});
    if (it == positions.end()) return std::nullopt;
    return it->second.next_offset;
  };
  std::unique_ptr<kafka::Consumer> consumer;
  if (Status s = kafka::Consumer::Open(config, group, regex, stored_offset, &consumer); !s.ok())
    return s;
  LOG_INFO("apply: consuming " << regex << " as group " << group << " from "
                               << config.stream.brokers);
  // After `copy`, the topics may still hold what a capture sent before the copy's snapshot:
  // the copy holds those changes, and replayed onto it they could collide (a unique value
  // that moved since) or double an append-only table. A record carrying its transaction's
  // commit position below the snapshot's is left out, counted; one without cannot be placed,
  // and is applied.
  CopyState copy;
  if (Status s = ReadCopyState(config, &copy); !s.ok()) return s;
  const Lsn copied_before = copy.found && copy.finished ? copy.position : 0;
  std::set<std::string> held_by_copy;  // topic/partition: said so
  bool warned_unplaced = false;

  debezium::ColumnTypeLookup lookup = [&](const std::string& schema, const std::string& table,
                                          const std::string& column) {
    return applier->TargetColumnType(schema, table, column);
  };
  auto where = [](const kafka::Message& m) {
    return m.topic + "/" + std::to_string(m.partition) + "/" + std::to_string(m.offset);
  };
  // A record that cannot be applied stops apply, or with on_error = "dead-letter" is set
  // aside (durably, before the offset past it is stored).
  auto reject = [&](const kafka::Message& m, const std::string& why) -> Status {
    if (config.apply.on_error != OnError::kDeadLetter) {
      return Status::Error("record " + where(m) + ": " + why +
                           " (set [apply] on_error = \"dead-letter\" to set such records aside)");
    }
    if (Status s = consumer->DeadLetter(m, dead_letter, why); !s.ok()) return s;
    LOG_WARN("apply: record " << where(m) << " sent to " << dead_letter << ": " << why);
    return Status::Ok();
  };
  Relations relations;
  std::set<std::string> excluded_seen;
  std::string binlog_file;
  std::vector<kafka::Message> messages;
  while (!stop) {
    if (Status s = consumer->Poll(5000, Duration(200), &messages); !s.ok()) return s;
    if (up) *up = true;
    if (messages.empty()) continue;
    std::vector<Consumed> consumed;
    std::map<std::pair<std::string, int32_t>, KafkaPosition> touched;
    for (const auto& m : messages) {
      auto key = std::make_pair(m.topic, m.partition);
      auto& pos = touched
                      .try_emplace(key, positions.count(key) ? positions[key]
                                                             : KafkaPosition{m.topic, m.partition})
                      .first->second;
      if (m.offset > pos.next_offset) {
        // Offsets may skip (transaction markers, compaction), but never past what the broker
        // has dropped: that would skip changes.
        int64_t low = 0, high = 0;
        if (Status s = consumer->LowWatermark(m.topic, m.partition, &low, &high); !s.ok()) return s;
        if (low > pos.next_offset)
          return kafka::OffsetGap(m.topic, m.partition, pos.next_offset, low, high);
      }
      pos.next_offset = m.offset + 1;
      Consumed& c = consumed.emplace_back(Consumed{&m});
      debezium::DecodedRecord rec;
      Status problem = debezium::DecodeRecord(m.key, m.value, lookup, &rec);
      if (!rec.binlog_file.empty() && rec.binlog_file != binlog_file) {
        binlog_file = rec.binlog_file;  // so positions read binlog.000042:1234 in messages
        SetBinlogBaseName(binlog_file);
      }
      bool data = problem.ok() && (rec.kind == debezium::DecodedRecord::Kind::kRow ||
                                   rec.kind == debezium::DecodedRecord::Kind::kTruncate);
      if (data) problem = topics::CheckRoute(config, m.topic, rec.schema, rec.table);
      if (!rec.table.empty() && config.upgrade.rules.DropOf(rec.schema, rec.table)) {
        // The release has no such table: dropped on purpose, whatever the record holds (a
        // record without schemas cannot even be typed by a target table that does not exist).
        if (excluded_seen.insert(rec.schema + "." + rec.table).second) {
          LOG_INFO("apply: dropping the records of "
                   << rec.schema << "." << rec.table << " on purpose ([[drop]] rule \""
                   << config.upgrade.rules.DropOf(rec.schema, rec.table)->name << "\")");
        }
        data = false;
        problem = Status::Ok();
      }
      if (data && problem.ok() && !config.source.Selects(rec.schema + "." + rec.table)) {
        // On its own topic but left out by source.tables / exclude: the config's choice.
        if (excluded_seen.insert(rec.schema + "." + rec.table).second) {
          LOG_INFO("apply: leaving out the records of " << rec.schema << "." << rec.table
                                                        << " (not selected by source.tables / "
                                                           "source.exclude)");
        }
        data = false;
      }
      if (data && problem.ok()) {
        // Commit order first: the transaction's own commit LSN where the record carries it
        // (stagesync; the same when re-sent), else Debezium's last-commit LSN.
        Position here{rec.txn_commit_lsn ? rec.txn_commit_lsn : rec.last_commit_lsn, rec.lsn,
                      rec.total_order};
        Position done{pos.last_commit_lsn, pos.lsn, pos.total_order};
        // Sent twice by a capture restart. Snapshot reads (op r) share one position and are
        // idempotent upserts anyway, so only streamed changes are deduplicated.
        bool positioned = rec.op != 'r' && std::get<0>(here) != 0;
        if (positioned && AppliedAlready(here, done)) {
          c.position = pos;
          continue;
        }
        if (copied_before && rec.op != 'r' && rec.txn_commit_lsn == 0 && !warned_unplaced) {
          warned_unplaced = true;
          LOG_WARN("apply: record " << where(m) << " carries no commit position of its own "
                                    << "(no transaction metadata): apply cannot tell whether "
                                       "the copy holds it, and applies such records");
        }
        if (copied_before && rec.txn_commit_lsn != 0 && rec.txn_commit_lsn < copied_before) {
          if (held_by_copy.insert(m.topic + "/" + std::to_string(m.partition)).second) {
            LOG_INFO("apply: " << m.topic << "/" << m.partition
                               << ": leaving out records from before the copy's snapshot ("
                               << DescribePosition(config.source.kind, copied_before)
                               << "), which the copy holds; the first at offset " << m.offset);
          }
          c.position = pos;
          continue;
        }
        if (!applier->TargetTableExists(rec.schema, rec.table)) {
          problem = Status::Error("unknown table " + rec.schema + "." + rec.table +
                                  ": no such target table (create it or map it in [mapping])");
        } else {
          ChangeEvent ev;
          if (!ToChange(rec, relations.For(rec), &ev)) {
            problem = Status::Error(std::string("unsupported op \"") + rec.op + "\"");
          } else {
            c.event = std::move(ev);
            c.source_time = rec.source_time;
            if (positioned) std::tie(pos.last_commit_lsn, pos.lsn, pos.total_order) = here;
          }
        }
      }
      c.position = pos;
      if (!problem.ok()) {
        if (Status s = reject(m, problem.message()); !s.ok()) return s;
      }
    }
    std::vector<KafkaPosition> batch_positions;
    for (auto& [k, p] : touched) batch_positions.push_back(p);
    std::vector<ChangeEvent> events = BatchEvents(consumed);
    Status applied = applier->ApplyBatch(events, group, batch_positions);
    if (!applied.ok() && !applied.transient()) {
      // Rolled back whole. Record by record, to apply what the target takes and to find the
      // record it rejects: a value that does not fit its column, a row it cannot place.
      applied = Status::Ok();
      for (const Consumed& c : consumed) {
        std::vector<ChangeEvent> one = BatchEvents({c});
        Status s = applier->ApplyBatch(one, group, {c.position});
        if (s.ok()) continue;
        if (s.transient()) return s;
        if (Status r = reject(*c.message, s.message()); !r.ok()) return r;
        std::vector<ChangeEvent> none;  // the offset past the record set aside
        if (Status r = applier->ApplyBatch(none, group, {c.position}); !r.ok()) return r;
      }
    }
    if (!applied.ok()) return applied;
    for (auto& [k, p] : touched) positions[k] = p;
  }
  return Status::Ok();
}

}  // namespace stagesync::apply
