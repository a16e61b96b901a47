// What a binlog QUERY event's statement means for the change stream: a transaction's start or
// end, a TRUNCATE to pass on, or anything else (DDL, which commits implicitly).
#pragma once

#include <string>
#include <string_view>

namespace stagesync::capture::binlog {

enum class QueryKind { kBegin, kCommit, kTruncate, kOther };

// Classifies `sql` as the binlog holds it (the statement as the client sent it). For
// kTruncate, `truncated_table` gets the table as written, "db.table" when qualified, with
// `backquotes` removed.
QueryKind ClassifyQuery(std::string_view sql, std::string* truncated_table);

}  // namespace stagesync::capture::binlog
