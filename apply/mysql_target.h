// A MySQL/MariaDB target's catalog, as the apply code needs it.
#pragma once

#include <cppconn/connection.h>

#include <optional>
#include <string>

#include "target_catalog.h"

namespace stagesync::apply {

// Finds `schema`.`table` on the target (exact name first, then case-insensitive). A source
// schema with no database of that name on the target falls back to `default_database`
// (the dsn's), so PostgreSQL's public.um_user lands in the staging database's UM_USER.
// TargetColumn::type holds the column's DATA_TYPE, lower case ("bigint", "varbinary", ...).
std::optional<TargetTable> LoadMysqlTargetTable(sql::Connection& conn, const std::string& schema,
                                                const std::string& table,
                                                const std::string& default_database);

// Creates (or leaves) the bookkeeping database and tables on a MySQL target.
void RunMysqlBookkeeping(sql::Connection& conn);

// A MySQL column type as PostgreSQL's format_type() would spell the equivalent
// (DATA_TYPE, COLUMN_TYPE -> "numeric(12,2)", "timestamp(3) without time zone", ...).
std::optional<std::string> PostgresSpelling(const std::string& data_type,
                                            const std::string& column_type);

}  // namespace stagesync::apply
