// The applier's side of `copy`: copied rows written through the stream's plans, by the
// target's bulk load where a table has no rules, and what `copy` asks of a table's plan.
#include <set>

#include "session_applier.h"
#include "stagesync/log.h"

namespace stagesync::apply {

Status SessionApplier::WriteRows(std::vector<ChangeEvent>& events) {
  if (Status s = CopyRowsInBulk(events); !s.ok()) return s;
  TimestampUs newest = 0;
  return ApplyKafkaEvents(events, &newest);
}

// Copied inserts of a table without rules go in by the target's bulk load; they leave
// `events`. Any failure of it (a row the target already holds, a value it rejects) rolls the
// load back to its savepoint and leaves the rows to the set-based writes and their fallback,
// which name a failing row.
Status SessionApplier::CopyRowsInBulk(std::vector<ChangeEvent>& events) {
  if (!copying_ || !session_->CanCopyRows() || events.empty()) return Status::Ok();
  auto* first = std::get_if<RowChange>(&events.front());
  if (!first || Dropped(*first->relation)) return Status::Ok();
  std::vector<const Tuple*> rows;
  for (const ChangeEvent& ev : events) {
    const auto* row = std::get_if<RowChange>(&ev);
    if (!row || row->op != RowOp::kInsert || row->relation != first->relation) return Status::Ok();
    rows.push_back(&row->new_tuple);
  }
  Split* split = nullptr;
  if (Status s = SplitFor(first->relation, &split); !s.ok() || split) return s;
  TablePlan* plan = nullptr;
  if (Status s = PlanFor(first->relation, &plan); !s.ok()) return s;
  if (!plan->computed.empty() || !plan->after.empty()) return Status::Ok();
  if (!open_) {
    if (Status s = OpenGroup(); !s.ok()) return s;
  }
  if (Status s = session_->Savepoint(); !s.ok()) return s;
  Status s = session_->CopyRows(*plan, rows);
  if (s.transient()) return s;
  if (!s.ok()) {
    LOG_DEBUG("copy: bulk load of " << plan->TargetName() << " failed (" << s.message()
                                    << "); writing the rows one set at a time");
    return session_->RollbackToSavepoint();
  }
  if (Status r = session_->ReleaseSavepoint(); !r.ok()) return r;
  txn_has_data = true;
  events.clear();
  return Status::Ok();
}

Status SessionApplier::TakesRaw(const RelationPtr& rel, const TableDefinition& definition,
                                RawFormat* out) {
  *out = RawFormat::kNone;
  if (!copying_ || config.source.kind != Engine::kPostgres || !session_->CanCopyRows() ||
      IsHeartbeat(*rel) || Dropped(*rel)) {
    return Status::Ok();
  }
  Split* split = nullptr;
  if (Status s = SplitFor(rel, &split); !s.ok() || split) return s;
  TablePlan* plan = nullptr;
  if (Status s = PlanFor(rel, &plan); !s.ok()) return s;
  std::set<int> fed;
  for (int t : plan->source_to_target) {
    if (t < 0 || !fed.insert(t).second) return Status::Ok();
  }
  if (!plan->computed.empty() || !plan->after.empty()) return Status::Ok();
  // Binary values are the type's own: the same built-in type (below FirstGenbkiObjectId, the
  // same on every server), spelled the same with its modifier, on both sides.
  bool binary = definition.columns.size() == rel->columns.size();
  for (size_t s = 0; binary && s < rel->columns.size(); ++s) {
    binary =
        rel->columns[s].type_oid < 10000 &&
        definition.columns[s].source_type == plan->target.columns[plan->source_to_target[s]].type;
  }
  *out = binary ? RawFormat::kBinary : RawFormat::kText;
  return Status::Ok();
}

Status SessionApplier::CopyRaw(const RelationPtr& rel, const RawRows& rows) {
  TablePlan* plan = nullptr;
  if (Status s = PlanFor(rel, &plan); !s.ok()) return s;
  if (!open_) {
    if (Status s = OpenGroup(); !s.ok()) return s;
  }
  txn_has_data = true;
  return session_->CopyRaw(*plan, rows);
}

Status SessionApplier::HasAfterRules(const RelationPtr& rel, bool* out) {
  *out = false;
  if (IsHeartbeat(*rel) || Dropped(*rel)) return Status::Ok();
  Split* split = nullptr;
  if (Status s = SplitFor(rel, &split); !s.ok()) return s;
  if (split) {
    for (const TablePlan* plan : split->plans) *out = *out || !plan->after.empty();
    return Status::Ok();
  }
  TablePlan* plan = nullptr;
  if (Status s = PlanFor(rel, &plan); !s.ok()) return s;
  *out = !plan->after.empty();
  return Status::Ok();
}

}  // namespace stagesync::apply
