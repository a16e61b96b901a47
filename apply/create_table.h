// `copy --create-tables`: a missing target table's CREATE TABLE from the source's definition,
// through the type map the stream writes values by (the relation's PostgreSQL types).
#pragma once

#include <string>
#include <vector>

#include "stagesync/config.h"
#include "stagesync/table_definition.h"

namespace stagesync::apply {

struct TableDdl {
  std::vector<std::string> statements;  // run in order; empty when a problem stops it
  std::vector<std::string> problems;    // what cannot be translated: the table is not created
  std::vector<std::string> notes;       // what was translated approximately or left out
};

// The statements that create `relation` as `schema`.`name` on target.kind: the mapped column
// names, types, NOT NULL, literal defaults, identity/AUTO_INCREMENT and the primary key. An
// empty `schema` on MySQL: the dsn's database.
TableDdl BuildCreateTable(const Config& config, const SourceRelation& relation,
                          const TableDefinition& definition, const std::string& schema,
                          const std::string& name);

}  // namespace stagesync::apply
