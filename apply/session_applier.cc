#include "session_applier.h"

#include <algorithm>

#include "engines.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"

namespace stagesync::apply {

SessionApplier::SessionApplier(const Config& c, std::unique_ptr<TargetSession> session)
    : session_(std::move(session)) {
  config = c;
}

Status SessionApplier::Open() {
  Checkpoint checkpoint;
  if (Status s = session_->ReadCheckpoint(config.source.slot, &checkpoint, &known_); !s.ok())
    return s;
  applied = checkpoint.lsn;
  events_total = checkpoint.events;
  txns_total = checkpoint.transactions;
  if (checkpoint.commit_time) progress.applied_commit_time = checkpoint.commit_time;
  progress.durable = applied;
  progress.events_applied = events_total;
  progress.transactions_applied = txns_total;
  return Status::Ok();
}

Status SessionApplier::OpenGroup() {
  if (Status s = session_->Begin(); !s.ok()) return s;
  open_ = true;
  return Status::Ok();
}

Status SessionApplier::Run(EventQueue& queue) {
  // Sessions report errors as Status; what still throws is unforeseen (a bug, no memory).
  // The open group is abandoned either way: nothing half-applied is ever committed.
  try {
    return Drive(queue);
  } catch (const std::exception& e) {
    Abandon();
    return Status::Error(std::string("apply failed: ") + e.what());
  }
}

Status SessionApplier::PlanFor(const RelationPtr& rel, TablePlan** out) {
  if (auto it = plans_.find(rel.get()); it != plans_.end()) {
    *out = it->second.get();
    return Status::Ok();
  }
  // A new shape of a table we already write: what is pending under the old one goes first.
  if (Status s = FlushAll(); !s.ok()) return s;
  auto [schema, name] = MappedTargetName(config, rel->schema, rel->name);
  std::optional<TargetTable> target;
  if (Status s = session_->LoadTable(schema, name, &target); !s.ok()) return s;
  if (!target) {
    return Status::Error("source table " + rel->QualifiedName() + " has no target table " + schema +
                         "." + name + ": create it on the target or map it in [mapping]");
  }
  auto plan = std::make_unique<TablePlan>();
  std::vector<std::string> warnings;
  if (Status s =
          BuildTablePlan(config, rel, *target, known_, next_plan_id_++, plan.get(), &warnings);
      !s.ok()) {
    return s;
  }
  for (const auto& w : warnings) {
    if (warned_.insert(w).second) LOG_WARN("apply: " << w);
  }
  // Keep only the newest shape per relation; older plans have nothing pending. Records from
  // Kafka carry no relation id (all 0), so the name tells relations apart too.
  for (auto it = plans_.begin(); it != plans_.end();) {
    if (it->first->id == rel->id && it->first->QualifiedName() == rel->QualifiedName()) {
      batches_.erase(it->second->id);
      it = plans_.erase(it);
    } else {
      ++it;
    }
  }
  *out = plan.get();
  plans_.emplace(rel.get(), std::move(plan));
  return Status::Ok();
}

Status SessionApplier::RowError(const RowChange& c, const Status& cause) const {
  if (cause.transient()) return cause;
  auto it = plans_.find(c.relation.get());
  std::string key = it != plans_.end() ? DescribeKey(*it->second, c) : "";
  std::string target = it != plans_.end() ? it->second->TargetName() : "?";
  std::string computed;  // a computed column's rule may be what failed
  if (it != plans_.end() && c.op != RowOp::kDelete) {
    for (const PlanComputed& p : it->second->computed) {
      computed += (computed.empty() ? " (the statement computes " : ", ") +
                  it->second->target.columns[p.target_column].name + " by " + p.label;
    }
    if (!computed.empty()) computed += ")";
  }
  if (copying_) {
    return Status::Error("copy of " + c.relation->QualifiedName() + " key " + key + " into " +
                         target + " failed: " + cause.message() + computed +
                         ". Nothing of its range was committed; fix the target and run "
                         "`stagesync copy` again, which resumes with that range.");
  }
  return Status::Error(
      "apply of " + std::string(OpName(c.op)) + " on " + c.relation->QualifiedName() + " key " +
      key + " at " + DescribePosition(config.source.kind, c.lsn) + " into " + target +
      " failed: " + cause.message() + computed +
      ". Nothing after the last applied position was committed; fix the "
      "target and start `stagesync " +
      (config.stream.transport == Transport::kKafka ? "apply" : "run") + "` again.");
}

Status SessionApplier::RunAfter(const TablePlan& plan, const std::vector<WrittenRow>& rows) {
  if (plan.after.empty()) return Status::Ok();
  return session_->RunAfter(plan, rows);
}

Status SessionApplier::WriteRow(const TablePlan& plan, const RowChange& c) {
  Status s = session_->WriteRow(plan, c);
  if (s.ok() && !plan.after.empty()) {
    Tuple key = plan.keyless ? Tuple{} : KeyOf(plan, c);
    const Tuple& image = c.op == RowOp::kDelete ? c.old_tuple : c.new_tuple;
    s = RunAfter(plan, {WrittenRow{c.op, &key, image.empty() ? nullptr : &image}});
  }
  return s.ok() ? s : RowError(c, s);
}

Status SessionApplier::SplitFor(const RelationPtr& rel, Split** out) {
  *out = nullptr;
  if (auto it = splits_.find(rel.get()); it != splits_.end()) {
    *out = it->second.get();
    return Status::Ok();
  }
  const SplitTable* rule = config.upgrade.rules.SplitOf(rel->schema, rel->name);
  if (!rule) return Status::Ok();
  if (Status s = FlushAll(); !s.ok()) return s;
  // A new shape of the relation: the parts' plans of the old one go.
  for (auto it = splits_.begin(); it != splits_.end();) {
    if (it->first->id == rel->id && it->first->QualifiedName() == rel->QualifiedName()) {
      for (const auto& part : it->second->parts) {
        if (auto p = plans_.find(part.get()); p != plans_.end()) {
          batches_.erase(p->second->id);
          plans_.erase(p);
        }
      }
      it = splits_.erase(it);
    } else {
      ++it;
    }
  }
  auto split = std::make_unique<Split>();
  std::vector<std::string> columns;
  for (const auto& c : rel->columns) columns.push_back(c.name);
  if (Status s = ResolveSplit(config, *rule, rel->schema, rel->name, columns, &split->route);
      !s.ok()) {
    return s;
  }
  for (const auto& [schema, name] : split->route.tables) {
    std::optional<TargetTable> target;
    if (Status s = session_->LoadTable(schema, name, &target); !s.ok()) return s;
    if (!target) {
      return Status::Error(split->route.label + ": part " + schema + "." + name +
                           " does not exist on the target: create it as the release defines it");
    }
    auto part = std::make_shared<SourceRelation>(*rel);
    auto plan = std::make_unique<TablePlan>();
    std::vector<std::string> warnings;
    if (Status s =
            BuildTablePlan(config, part, *target, known_, next_plan_id_++, plan.get(), &warnings);
        !s.ok()) {
      return s;
    }
    if (plan->keyless) {
      return Status::Error(split->route.label + ": part " + plan->TargetName() +
                           " has no key that matches the source's identity: a split locates "
                           "rows by key in every part");
    }
    for (const auto& w : warnings) {
      if (warned_.insert(w).second) LOG_WARN("apply: " << w);
    }
    split->plans.push_back(plan.get());
    split->parts.push_back(part);
    plans_.emplace(part.get(), std::move(plan));
  }
  *out = split.get();
  splits_.emplace(rel.get(), std::move(split));
  return Status::Ok();
}

namespace {

// `c` as a delete of its (old) key on `part`.
RowChange DeleteOn(const RowChange& c, const RelationPtr& part) {
  RowChange d;
  d.op = RowOp::kDelete;
  d.relation = part;
  d.lsn = c.lsn;
  d.old_tuple = c.old_tuple.empty() ? c.new_tuple : c.old_tuple;
  return d;
}

}  // namespace

Status SessionApplier::RouteSplit() {
  if (split_pending_.empty()) return Status::Ok();
  auto pending = std::move(split_pending_);
  split_pending_.clear();
  // Consecutive rows of one split relation are routed together.
  for (size_t from = 0; from < pending.size();) {
    Split* split = pending[from].first;
    size_t to = from;
    std::vector<const Tuple*> images;
    std::vector<size_t> routed;  // index into pending, per image
    for (; to < pending.size() && pending[to].first == split; ++to) {
      const RowChange& c = pending[to].second;
      if (c.op == RowOp::kDelete) continue;
      for (const auto& part : split->route.params) {
        for (int p : part) {
          if (c.new_tuple[p].is_unchanged()) {
            return Status::Error(split->route.label + ": the update of " +
                                 c.relation->QualifiedName() + " key " +
                                 DescribeKey(*split->plans[0], c) + " at " +
                                 DescribePosition(config.source.kind, c.lsn) +
                                 " does not carry column " + c.relation->columns[p].name +
                                 " (an unchanged TOAST value), so its part is unknown: run ALTER "
                                 "TABLE ... REPLICA IDENTITY FULL on the source");
          }
        }
      }
      images.push_back(&c.new_tuple);
      routed.push_back(to);
    }
    std::vector<int> part_of(pending.size(), -1);
    if (!images.empty()) {
      std::vector<const TablePlan*> plans(split->plans.begin(), split->plans.end());
      std::vector<int> parts;
      if (Status s = session_->RouteRows(split->route, plans, images, &parts); !s.ok()) return s;
      for (size_t i = 0; i < routed.size(); ++i) part_of[routed[i]] = parts[i];
    }
    for (size_t i = from; i < to; ++i) {
      RowChange& c = pending[i].second;
      const int target = part_of[i];
      // A key move is a delete of the old key everywhere and an insert of the new image.
      bool moves = target >= 0 && MovesKey(*split->plans[target], c);
      if (moves) {
        const TablePlan& plan = *split->plans[target];
        std::string unsent =
            UnsentColumns(plan, PresentColumns(c.new_tuple, c.relation->columns.size()));
        if (!unsent.empty()) {
          RowChange named = c;  // named by its part, whose plan the message reads
          named.relation = split->parts[target];
          return RowError(named, Status::Error(IncompleteRowMessage(plan, unsent)));
        }
      }
      for (size_t p = 0; p < split->parts.size(); ++p) {
        if (static_cast<int>(p) == target && !moves) continue;
        RowChange d = DeleteOn(c, split->parts[p]);
        if (Status s = Queue(*split->plans[p], d, false); !s.ok()) return s;
      }
      if (target < 0) continue;
      c.relation = split->parts[target];
      if (moves) {
        c.op = RowOp::kInsert;
        c.old_tuple.clear();
      }
      if (Status s = Queue(*split->plans[target], c, false); !s.ok()) return s;
    }
    from = to;
  }
  return Status::Ok();
}

bool SessionApplier::Dropped(const SourceRelation& relation) {
  auto [it, fresh] = dropped_.try_emplace(&relation, false);
  if (fresh) it->second = config.upgrade.rules.DropOf(relation.schema, relation.name) != nullptr;
  return it->second;
}

Status SessionApplier::ReplayRowByRow(const std::string& batch_error) {
  LOG_DEBUG("apply: batch failed (" << batch_error << "); replaying row by row");
  if (Status s = session_->RollbackToSavepoint(); !s.ok()) {
    return Status::Transient("target: " + s.message());
  }
  for (const RowChange& c : raw_) {
    if (Status s = WriteRow(*plans_.at(c.relation.get()), c); !s.ok()) return s;
  }
  return Status::Ok();
}

Status SessionApplier::FlushAll() {
  if (Status s = RouteSplit(); !s.ok()) return s;
  if (raw_.empty()) return Status::Ok();
  Status written = session_->Savepoint();
  if (!written.ok()) return written;
  for (auto& [id, batch] : batches_) {
    if (batch.empty()) continue;
    written = session_->WriteBatch(batch);
    if (written.ok()) written = RunAfter(*batch.plan(), WrittenRows(batch));
    if (!written.ok()) break;
  }
  if (written.ok()) written = session_->ReleaseSavepoint();
  if (!written.ok()) {
    if (written.transient()) return written;
    if (Status s = ReplayRowByRow(written.message()); !s.ok()) return s;
  }
  for (auto& [id, batch] : batches_) batch.Clear();
  raw_.clear();
  raw_bytes_ = 0;
  last_queued_ = nullptr;
  return Status::Ok();
}

Status SessionApplier::Queue(TablePlan& plan, RowChange& c, bool append) {
  bool rules = !plan.computed.empty() || !plan.after.empty();
  if (last_queued_ && last_queued_ != &plan && (rules || !last_queued_->after.empty())) {
    if (Status s = FlushAll(); !s.ok()) return s;
  }
  last_queued_ = &plan;
  auto& batch = batches_.try_emplace(plan.id, &plan).first->second;
  if (append) {
    batch.Append(c);
  } else {
    batch.Add(c);
  }
  raw_bytes_ += ApproximateSize(ChangeEvent(c));
  raw_.push_back(std::move(c));
  if (raw_.size() >= kChunkRows || raw_bytes_ >= kChunkBytes) return FlushAll();
  return Status::Ok();
}

Status SessionApplier::ApplyRow(RowChange& c) {
  if (skipping || IsHeartbeat(*c.relation) || Dropped(*c.relation)) return Status::Ok();
  Split* split = nullptr;
  if (Status s = SplitFor(c.relation, &split); !s.ok()) return s;
  if (split) {
    txn_has_data = true;
    group_events++;
    group_rows++;
    split_pending_.emplace_back(split, std::move(c));
    return split_pending_.size() >= kChunkRows ? FlushAll() : Status::Ok();
  }
  // Another table's row after rows of a split table: those are routed and queued first.
  if (Status s = RouteSplit(); !s.ok()) return s;
  TablePlan* plan = nullptr;
  if (Status s = PlanFor(c.relation, &plan); !s.ok()) return s;
  txn_has_data = true;
  group_events++;
  group_rows++;
  // Rows without a key are only ever appended: batched like the rest.
  if (plan->keyless && c.op == RowOp::kInsert) return Queue(*plan, c, /*append=*/true);
  if (plan->keyless || MovesKey(*plan, c)) {
    // Pending rows go first, so the table's changes keep their order.
    if (Status s = FlushAll(); !s.ok()) return s;
    return WriteRow(*plan, c);
  }
  return Queue(*plan, c, /*append=*/false);
}

Status SessionApplier::TargetTablesOf(const RelationPtr& rel, std::vector<TargetTable>* out,
                                      std::string* list) {
  if (IsHeartbeat(*rel) || Dropped(*rel)) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> names;
  if (const SplitTable* split = config.upgrade.rules.SplitOf(rel->schema, rel->name)) {
    for (const auto& part : split->parts) {
      names.push_back(PartTableName(config, part.table, rel->schema, rel->name));
    }
  } else {
    names.push_back(MappedTargetName(config, rel->schema, rel->name));
  }
  for (const auto& [schema, name] : names) {
    std::optional<TargetTable> target;
    if (Status s = session_->LoadTable(schema, name, &target); !s.ok()) return s;
    if (!target) {
      return Status::Error(rel->QualifiedName() + ": no target table " + schema + "." + name +
                           ": create it on the target or map it in [mapping]");
    }
    *list += (list->empty() ? "" : ", ") + target->schema + "." + target->name;
    out->push_back(std::move(*target));
  }
  return Status::Ok();
}

Status SessionApplier::ApplyTruncate(const TruncateChange& t) {
  if (skipping) return Status::Ok();
  if (Status s = FlushAll(); !s.ok()) return s;
  std::vector<TargetTable> tables;
  std::string list;
  for (const auto& rel : t.relations) {
    if (Status s = TargetTablesOf(rel, &tables, &list); !s.ok()) {
      if (s.transient()) return s;
      return Status::Error("TRUNCATE at " + DescribePosition(config.source.kind, t.lsn) + " of " +
                           s.message());
    }
  }
  if (tables.empty()) return Status::Ok();
  txn_has_data = true;
  group_events++;
  if (Status s = session_->Truncate(tables, t); !s.ok()) {
    if (s.transient()) return s;
    return Status::Error("apply of TRUNCATE " + list + " at " +
                         DescribePosition(config.source.kind, t.lsn) + " failed: " + s.message());
  }
  return Status::Ok();
}

Status SessionApplier::CommitGroup() {
  if (!open_) return Status::Ok();
  auto started = Clock::now();
  if (Status s = FlushAll(); !s.ok()) return s;
  Status s = Status::Ok();
  if (group_end > applied) {
    s = session_->WriteCheckpoint(
        config.source.slot, Checkpoint{group_end, group_commit_time, events_total + group_events,
                                       txns_total + group_txns});
  }
  if (s.ok()) s = session_->Commit();
  if (!s.ok()) {
    open_ = false;
    std::string unacknowledged =
        " (nothing after " + DescribePosition(config.source.kind, applied) + " was acknowledged)";
    if (s.transient()) {
      return Status::Transient("target connection lost at commit: " + s.message() + unacknowledged);
    }
    return Status::Error("commit on the target failed: " + s.message() + unacknowledged);
  }
  open_ = false;
  GroupCommitted(started);
  Lsn durable = progress.durable;
  if (Status c = session_->Committed(applied, &durable); !c.ok()) return c;
  progress.durable = durable;
  return Status::Ok();
}

void SessionApplier::Abandon() {
  if (open_) session_->Rollback();
  open_ = false;
  raw_.clear();
  raw_bytes_ = 0;
  last_queued_ = nullptr;
  split_pending_.clear();
  for (auto& [id, batch] : batches_) batch.Clear();
  group_events = group_txns = 0;
  group_rows = 0;
  progress.pending_since = 0;
}

Status SessionApplier::Tick(bool final) {
  if (open_) return Status::Ok();
  Lsn durable = progress.durable;
  if (Status s = session_->Durable(final, &durable); !s.ok()) return s;
  progress.durable = durable;
  return Status::Ok();
}

std::chrono::milliseconds SessionApplier::MaxWait() const {
  return std::chrono::milliseconds(session_->AwaitingDurability() ? 50 : 200);
}

Status SessionApplier::ApplyBatch(std::vector<ChangeEvent>& events, const std::string& group,
                                  const std::vector<KafkaPosition>& positions) {
  TimestampUs newest = 0;
  if (Status s = ApplyKafkaEvents(events, &newest); !s.ok()) return s;
  Status s = CommitWith("a Kafka batch", [&] {
    return session_->WriteKafkaPositions(config.source.slot, group, positions, group_events,
                                         newest);
  });
  if (!s.ok()) return s;
  KafkaBatchCommitted(newest);
  return Status::Ok();
}

Status SessionApplier::CommitWith(const std::string& what, const std::function<Status()>& mark) {
  if (!open_) {
    if (Status s = OpenGroup(); !s.ok()) return s;
  }
  Status s = mark();
  if (s.ok()) s = session_->Commit();
  if (!s.ok()) {
    Abandon();
    if (s.transient()) return s;
    return Status::Error("committing " + what + " on the target: " + s.message());
  }
  open_ = false;
  return Status::Ok();
}

Status SessionApplier::LoadKafkaPositions(const std::string& group,
                                          std::vector<KafkaPosition>* out) {
  return session_->LoadKafkaPositions(group, out);
}

const TargetTable* SessionApplier::CachedTable(const std::string& schema,
                                               const std::string& table) {
  auto [tschema, tname] = MappedTargetName(config, schema, table);
  // A split table's records are typed by its first part (the parts share the source's columns).
  if (const SplitTable* split = config.upgrade.rules.SplitOf(schema, table)) {
    std::tie(tschema, tname) = PartTableName(config, split->parts.front().table, schema, table);
  }
  std::string key = tschema + "." + tname;
  auto it = table_cache_.find(key);
  if (it == table_cache_.end()) {
    std::optional<TargetTable> loaded;
    // Not cached on failure: the next record asks again.
    if (!session_->LoadTable(tschema, tname, &loaded).ok()) return nullptr;
    it = table_cache_.emplace(key, std::move(loaded)).first;
  }
  return it->second ? &*it->second : nullptr;
}

std::optional<std::string> SessionApplier::TargetColumnType(const std::string& schema,
                                                            const std::string& table,
                                                            const std::string& column) {
  const TargetTable* target = CachedTable(schema, table);
  if (!target) return std::nullopt;
  int i = target->FindColumn(MappedColumnName(config, schema + "." + table, column));
  if (i < 0) return std::nullopt;
  return target->columns[i].decode_type;
}

bool SessionApplier::TargetTableExists(const std::string& schema, const std::string& table) {
  return CachedTable(schema, table) != nullptr;
}

Status OpenTargetSession(const Config& config, std::unique_ptr<TargetSession>* out, bool for_copy) {
  return config.target.kind == Engine::kMysql ? OpenMysqlSession(config, out, for_copy)
                                              : OpenPostgresSession(config, out);
}

Status EnsureBookkeeping(const Config& config) {
  return config.target.kind == Engine::kMysql ? EnsureMysqlBookkeeping(config)
                                              : EnsurePostgresBookkeeping(config);
}

Status OpenSessionApplier(const Config& config, std::unique_ptr<SessionApplier>* out,
                          bool for_copy) {
  std::unique_ptr<TargetSession> session;
  if (Status s = OpenTargetSession(config, &session, for_copy); !s.ok()) return s;
  auto applier = std::make_unique<SessionApplier>(config, std::move(session));
  if (Status s = applier->Open(); !s.ok()) return s;
  *out = std::move(applier);
  return Status::Ok();
}

namespace {

// `run` and `apply` only: the stream must not write into a copy that is still going on (its
// rows would be overwritten by older ones) or that died half-way.
Status OpenSessionApplier(const Config& config, std::unique_ptr<SessionApplierHandle>* out) {
  std::unique_ptr<SessionApplier> applier;
  if (Status s = OpenSessionApplier(config, &applier); !s.ok()) return s;
  CopyState copy;
  if (Status s = applier->session().ReadCopyState(config.source.slot, &copy); !s.ok()) return s;
  if (copy.found && !copy.finished) {
    size_t done = std::count_if(copy.ranges.begin(), copy.ranges.end(),
                                [](const CopyRange& r) { return r.done; });
    return Status::Usage("the initial copy into the target has not finished (" +
                         std::to_string(done) + " of " + std::to_string(copy.ranges.size()) +
                         " ranges done): run `stagesync copy` to finish it first");
  }
  *out = std::make_unique<SessionApplierHandle>(std::move(applier));
  return Status::Ok();
}

}  // namespace

Status OpenApplier(const Config& config, std::unique_ptr<Applier>* out) {
  std::unique_ptr<SessionApplierHandle> applier;
  if (Status s = OpenSessionApplier(config, &applier); !s.ok()) return s;
  *out = std::move(applier);
  return Status::Ok();
}

Status OpenKafkaTarget(const Config& config, std::unique_ptr<KafkaTarget>* out) {
  // `apply` may run on a target that `setup` never saw: its bookkeeping comes first.
  if (Status s = EnsureBookkeeping(config); !s.ok()) return s;
  std::unique_ptr<SessionApplierHandle> applier;
  if (Status s = OpenSessionApplier(config, &applier); !s.ok()) return s;
  *out = std::move(applier);
  return Status::Ok();
}

}  // namespace stagesync::apply
