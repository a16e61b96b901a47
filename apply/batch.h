// The rows of one target transaction waiting to be written, coalesced per key: a row touched
// many times in a batch is written once, in its final state. Deletes go first, then updates,
// then inserts, which keeps unique keys that move between rows satisfied.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "stagesync/change.h"
#include "table_plan.h"

namespace stagesync::apply {

struct PendingRow {
  enum class State : uint8_t { kInsert, kUpdate, kDelete, kDeleteInsert };
  State state = State::kInsert;
  Tuple key;    // values of plan.key_source
  Tuple image;  // the new image by source column; kUnchanged where the source did not send it
  Lsn lsn = 0;
};

class TableBatch {
 public:
  explicit TableBatch(const TablePlan* plan) : plan_(plan) {}
  // REQUIRES: the change does not move the row's key (see MovesKey) and the plan has a key.
  void Add(const RowChange& change);
  // For plans without a key: an insert, kept in order and never merged.
  void Append(const RowChange& change);
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  const TablePlan* plan() const { return plan_; }
  const std::vector<PendingRow>& rows() const { return rows_; }
  void Clear();

 private:
  const TablePlan* plan_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<PendingRow> rows_;
};

// Values of the plan's key columns for a change: the old image where the source sent one.
Tuple KeyOf(const TablePlan& plan, const RowChange& change);
// True when an update changes the key, so it cannot be merged with other changes of the row.
bool MovesKey(const TablePlan& plan, const RowChange& change);
// Which source columns a tuple carries (not kUnchanged).
std::vector<bool> PresentColumns(const Tuple& tuple, size_t width);

// "(id=1, tenant=-1234)" for messages.
std::string DescribeKey(const TablePlan& plan, const RowChange& c);
const char* OpName(RowOp op);

// Builds one PostgreSQL array literal per parameter for `rows`, in StatementParams order.
void AppendArrayElement(std::string& out, const Value& value);

}  // namespace stagesync::apply
