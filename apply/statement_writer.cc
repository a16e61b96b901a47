// Writes a table's pending rows to PostgreSQL with set-based statements (see the header).
#include "statement_writer.h"

#include <map>

#include "stagesync/pg.h"

namespace stagesync::apply {

const std::string& StatementWriter::Prepare(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = "ss" + std::to_string(prepared_.size() + 1);
  conn_.prepare(name, sql);
  return prepared_.emplace(sql, name).first->second;
}

void StatementWriter::Exec(pqxx::transaction_base& t, const TablePlan& plan,
                           const StatementShape& shape, const std::vector<RowView>& rows) {
  const std::string& name = Prepare(BuildStatement(plan, shape));
  auto params = StatementParams(plan, shape);
  std::vector<std::string> arrays(params.size());
  for (size_t p = 0; p < params.size(); ++p) {
    std::string& a = arrays[p];
    a.reserve(rows.size() * 8);
    a += '{';
    for (size_t r = 0; r < rows.size(); ++r) {
      if (r) a += ',';
      const ParamSource& src = params[p];
      const Tuple* from = src.from == ParamSource::From::kKey   ? rows[r].key
                          : src.from == ParamSource::From::kNew ? rows[r].image
                                                                : rows[r].old;
      AppendArrayElement(a, (*from)[src.index]);
    }
    a += '}';
  }
  pqxx::result r = t.exec_prepared(name, pqxx::prepare::make_dynamic_params(arrays));
  if (shape.op == RowOp::kUpdate && !plan.keyless && !shape.insert_missing &&
      static_cast<size_t>(r.affected_rows()) < rows.size()) {
    if (std::string unsent = UnsentColumns(plan, shape.present); !unsent.empty()) {
      throw IncompleteRowError(IncompleteRowMessage(plan, unsent));
    }
    StatementShape missing = shape;
    missing.insert_missing = true;
    t.exec_prepared(Prepare(BuildStatement(plan, missing)),
                    pqxx::prepare::make_dynamic_params(arrays));
  }
}

void StatementWriter::FlushTable(pqxx::transaction_base& t, const TableBatch& batch) {
  using State = PendingRow::State;
  const TablePlan& plan = *batch.plan();
  const size_t width = plan.relation->columns.size();
  std::vector<RowView> deletes;
  std::map<std::vector<bool>, std::vector<RowView>> updates, inserts;
  for (const PendingRow& row : batch.rows()) {
    RowView v{&row.key, &row.image, nullptr};
    if (row.state == State::kDelete || row.state == State::kDeleteInsert) deletes.push_back(v);
    if (row.state == State::kUpdate) updates[PresentColumns(row.image, width)].push_back(v);
    if (row.state == State::kInsert || row.state == State::kDeleteInsert) {
      inserts[PresentColumns(row.image, width)].push_back(v);
    }
  }
  if (!deletes.empty()) Exec(t, plan, {RowOp::kDelete, std::vector<bool>(width, false)}, deletes);
  for (const auto& [present, rows] : updates) Exec(t, plan, {RowOp::kUpdate, present}, rows);
  for (const auto& [present, rows] : inserts) {
    // Without a unique key on the target an insert must look before it writes.
    Exec(t, plan, {plan.key_unique || plan.keyless ? RowOp::kInsert : RowOp::kUpdate, present},
         rows);
  }
}

void StatementWriter::ExecSingle(pqxx::transaction_base& t, const TablePlan& plan,
                                 const RowChange& c) {
  const size_t width = plan.relation->columns.size();
  Tuple key = plan.keyless ? Tuple{} : KeyOf(plan, c);
  RowView v{&key, &c.new_tuple, &c.old_tuple};
  StatementShape shape{c.op, PresentColumns(c.new_tuple, width)};
  if (plan.keyless) {
    if (c.op != RowOp::kInsert) shape.old_present = PresentColumns(c.old_tuple, width);
  } else {
    if (c.op == RowOp::kInsert && !plan.key_unique) shape.op = RowOp::kUpdate;
    shape.key_change = MovesKey(plan, c);
  }
  if (c.op == RowOp::kDelete) shape.present.assign(width, false);
  Exec(t, plan, shape, {v});
}

}  // namespace stagesync::apply
