// What a binlog QUERY event's statement means for the change stream: a transaction's start or
// end, a statement inside one, a TRUNCATE to pass on, or anything else (DDL, which commits
// implicitly).
#pragma once

#include <string>
#include <string_view>

namespace stagesync::capture::binlog {

enum class QueryKind {
  kBegin,   // BEGIN, XA START
  kCommit,  // COMMIT, ROLLBACK, XA COMMIT, XA ROLLBACK
  // Inside a transaction, ending nothing: SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO, XA END.
  kWithinTransaction,
  kTruncate,
  kOther,
};

// The table a TRUNCATE names, unquoted. `schema` is empty when the statement does not
// qualify the name: the table is then in the event's default database. `table` is empty when
// the statement names no table ClassifyQuery can read.
struct TruncatedTable {
  std::string schema;
  std::string table;
};

// Classifies `sql` as the binlog holds it: the statement as the client sent it, comments
// included. For kTruncate, `truncated` gets the table.
QueryKind ClassifyQuery(std::string_view sql, TruncatedTable* truncated);

}  // namespace stagesync::capture::binlog
