// Writes a table's pending rows to PostgreSQL: set-based statements over unnest()ed array
// parameters (prepared once per shape), and single changes for the exact fallback.
#pragma once

#include <pqxx/pqxx>
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

class StatementWriter {
 public:
  explicit StatementWriter(pqxx::connection& conn) : conn_(conn) {}
  // Deletes, then updates, then inserts of the batch (see TableBatch). Throws pqxx errors.
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
