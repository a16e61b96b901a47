// SQL text for a MySQL/MariaDB target: values in the change model's PostgreSQL text format
// turned into MySQL literals by the target column's type, and the multi-row statements.
#pragma once

#include <string>
#include <vector>

#include "batch.h"
#include "stagesync/status.h"
#include "table_plan.h"

namespace stagesync::apply {

// A literal for `value` going into `column` (whose type is MySQL's DATA_TYPE): NULL, numbers
// as they are, bytea text as X'..', bit strings as b'..', booleans as 1/0, timestamptz text
// without its "+00". Values MySQL would have to change (NaN, infinity) are an error naming
// the value; anything else MySQL itself checks in strict mode.
Status MysqlLiteral(const TargetColumn& column, const Value& value, std::string* out);

// INSERT INTO t (present mapped columns) VALUES (...), ... ON DUPLICATE KEY UPDATE: upserts
// of whole images (kUnchanged columns left out, so `present` must match every image). For a
// keyless plan, plain inserts.
Status MysqlUpsert(const TablePlan& plan, const std::vector<const Tuple*>& images,
                   const std::vector<bool>& present, std::string* sql);
// DELETE FROM t WHERE (key) IN ((...), ...).
Status MysqlDeleteByKeys(const TablePlan& plan, const std::vector<const Tuple*>& keys,
                         std::string* sql);
// SELECT COUNT(*) FROM t WHERE (key) IN ((...), ...): how many of these rows the target has.
Status MysqlCountByKeys(const TablePlan& plan, const std::vector<const Tuple*>& keys,
                        std::string* sql);
// For `copy`: `rows` (whole images) as LOAD DATA's text (tab-separated, backslash escapes,
// \N for NULL, a line each), every value the literal MysqlLiteral makes of it; and the
// statement that loads the file at `path` with them. A value whose literal has no text form
// (a bit string) is an error: those rows take the statements.
Status MysqlLoadData(const TablePlan& plan, const std::vector<const Tuple*>& rows,
                     std::string* data);
std::string MysqlLoadStatement(const TablePlan& plan, const std::string& path);

// One change as the source made it, for the exact row-by-row path. May yield two statements
// (an update of a row that is missing inserts its new image: `fallback`, run when the first
// touched no row). An update without some of its columns (unchanged TOAST) has no fallback:
// an insert of it would invent their values.
Status MysqlSingle(const TablePlan& plan, const RowChange& change, std::string* sql,
                   std::string* fallback);

}  // namespace stagesync::apply
