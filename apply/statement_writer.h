// Writes a table's pending rows to PostgreSQL: set-based statements over unnest()ed array
// parameters (prepared once per shape), and single changes for the exact fallback.
#pragma once

#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "batch.h"
#include "table_plan.h"

namespace stagesync::apply {

// One row as the statement builders see it.
struct RowView {
  const Tuple* key = nullptr;
  const Tuple* image = nullptr;
  const Tuple* old = nullptr;
};

// An update found no target row to change, and it does not carry every column (unchanged
// TOAST values are not sent), so inserting its image would invent NULLs for the rest.
class IncompleteRowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StatementWriter {
 public:
  explicit StatementWriter(pqxx::connection& conn) : conn_(conn) {}
  // Deletes, then updates, then inserts of the batch (see TableBatch). Throws pqxx errors,
  // and IncompleteRowError.
  void FlushTable(pqxx::transaction_base& t, const TableBatch& batch);
  // Writes one change on its own: keyless tables, key moves, and the exact fallback.
  void ExecSingle(pqxx::transaction_base& t, const TablePlan& plan, const RowChange& c);

 private:
  const std::string& Prepare(const std::string& sql);
  void Exec(pqxx::transaction_base& t, const TablePlan& plan, const StatementShape& shape,
            const std::vector<RowView>& rows);

  pqxx::connection& conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

}  // namespace stagesync::apply
