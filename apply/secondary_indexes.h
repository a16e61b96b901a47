// `copy --rebuild-indexes`' view of a target table: its secondary indexes, unique constraints
// and foreign keys (and those referencing it) with the SQL that drops and re-creates each,
// read from each engine's catalog.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "stagesync/apply.h"
#include "target_catalog.h"

namespace sql {
class Connection;
}

namespace stagesync::apply {

// Throw on the driver's errors; the sessions turn them into a Status.
std::vector<CopyIndex> ReadPostgresIndexes(pqxx::transaction_base& tx, const TargetTable& table,
                                           bool keep_unique);
bool PostgresIndexExists(pqxx::transaction_base& tx, const CopyIndex& index);
std::vector<CopyIndex> ReadMysqlIndexes(sql::Connection& conn, const TargetTable& table,
                                        bool keep_unique);
bool MysqlIndexExists(sql::Connection& conn, const CopyIndex& index);

// The indexes and foreign keys of `SHOW CREATE TABLE`'s text for `schema`.`table`; a foreign
// key's REFERENCES is qualified with `schema` where the text leaves it bare, so that it
// re-creates from any connection. Unique keys stay with `keep_unique` or without a primary key.
std::vector<CopyIndex> MysqlIndexesOf(const std::string& schema, const std::string& table,
                                      const std::string& create_table, bool keep_unique);

}  // namespace stagesync::apply
