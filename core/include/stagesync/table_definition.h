// How a source table is defined, beyond the columns its changes carry: what `copy
// --create-tables` needs to create it on the target (NULLs, defaults, identity, key).
#pragma once

#include <string>
#include <vector>

#include "stagesync/change.h"

namespace stagesync {

struct ColumnDefinition {
  std::string source_type;  // the source's own spelling: format_type() / COLUMN_TYPE
  bool nullable = true;
  std::string default_sql;  // the source's default expression ("" for none)
  bool identity = false;    // serial or identity (PostgreSQL), AUTO_INCREMENT (MySQL)
};

// Per column in the relation's order, and the primary key's columns in key order.
struct TableDefinition {
  Engine source = Engine::kPostgres;
  std::vector<ColumnDefinition> columns;
  std::vector<std::string> primary_key;
};

}  // namespace stagesync
