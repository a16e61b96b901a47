// What the apply code needs to know about a target table, read from the target's catalog.
#pragma once

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "stagesync/status.h"

namespace stagesync::apply {

struct TargetColumn {
  std::string name;
  std::string type;       // format_type with modifier, schema-qualified where needed
  bool is_array = false;  // arrays cannot be nested in our text[] parameters
  bool identity_always = false;
  bool generated = false;  // stored generated column: never written
  // What values are cast to on their way in: the type without its modifier (a domain's base
  // type; an array of those for arrays). An explicit cast to varchar(n), char(n) or bit(n)
  // cuts the value to fit; left to the column's assignment, a value that does not fit fails.
  std::string cast_type;
  // MySQL targets: the PostgreSQL spelling of the column's type, which schemaless Debezium
  // records are decoded by (on PostgreSQL targets that is `type`).
  std::string decode_type;
};

struct TargetTable {
  std::string schema;
  std::string name;
  std::vector<TargetColumn> columns;
  std::vector<int> key;       // indices into columns: primary key, else a NOT NULL unique index
  std::string Ident() const;  // quoted schema.table
  int FindColumn(const std::string& name) const;  // by FindName (exact, then ASCII case)
};

// Finds "schema.table" on the target by FindQualifiedName (exact, then ASCII case only).
// nullopt when there is no such table.
std::optional<TargetTable> LoadTargetTable(pqxx::transaction_base& tx, const std::string& schema,
                                           const std::string& table);

// The target cannot be reached with target.dsn at setup or when run starts: the config's (or
// the environment's) problem, exit 2, not a failure to retry. `error` is the driver's.
Status TargetDsnProblem(const std::string& error);

}  // namespace stagesync::apply
