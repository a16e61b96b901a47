// COPY FROM STDIN into a PostgreSQL target table inside the open transaction, of rows already
// in COPY's text or binary format, sent in large pieces rather than a round trip per line.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "stagesync/apply.h"
#include "stagesync/status.h"

namespace stagesync::apply {

// `columns`: quoted, in the order of each row's fields. A rejected row fails the whole COPY
// (and the transaction) with the target's words; a lost connection is transient.
Status CopyIn(pqxx::dbtransaction& tx, const std::string& table,
              const std::vector<std::string>& columns, const RawRows& rows);

// Appends one text-format line (with its newline) of `row`'s fields `from`, escaped for COPY.
void AppendCopyLine(const Tuple& row, const std::vector<size_t>& from, std::string* out);

}  // namespace stagesync::apply
