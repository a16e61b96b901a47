// The new release's migration rules for replayed rows ([upgrade] rules = FILE): the columns
// it computes, the statements it runs, the tables it drops or splits and the columns it
// renames, so that rows written during the window arrive as the migration would make them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "stagesync/status.h"

namespace stagesync {

// SQL written in a rule file, with `:name` parameters naming the row's source columns.
// String literals, quoted identifiers, comments and `::` casts hold no parameters.
struct SqlTemplate {
  std::string text;                 // as written
  std::vector<std::string> pieces;  // the SQL around the parameters: params.size() + 1
  std::vector<std::string> params;  // the source column of each parameter, in order

  // The SQL with parameter i written as bind(i).
  std::string Render(const std::function<std::string(size_t)>& bind) const;
  bool empty() const { return text.empty(); }
};
// Splits `text` at its parameters; a lone ':' or an unterminated literal is an error.
Status ParseSqlTemplate(const std::string& text, SqlTemplate* out);

// Which row changes a rule acts on (bits).
enum RuleOps : uint8_t { kOnInsert = 1, kOnUpdate = 2, kOnDelete = 4 };

// [[compute]] a target column from the row (and lookups on the target), or [[default]] one
// that only staging has, given when a row is inserted.
struct ComputedColumn {
  std::string name;    // the rule, in messages
  std::string table;   // target table: "table", or "schema.table"
  std::string column;  // target column
  SqlTemplate value;   // an SQL expression
  uint8_t ops = kOnInsert | kOnUpdate;
  bool is_default = false;
};

// [[after]]: a statement run after each row of `table` is written.
struct AfterStatement {
  std::string name;
  std::string table;  // target table
  SqlTemplate statement;
  uint8_t ops = kOnInsert;
};

// [[drop]]: the release has no such table; its changes are dropped on purpose.
struct DroppedTable {
  std::string name;
  std::string table;  // source table: "table", or "schema.table"
  std::string reason;
};

// [[rename]]: the release renamed a column; the source column `from` feeds `to`.
struct RenamedColumn {
  std::string name;
  std::string table;  // source table
  std::string from, to;
};

// [[split]]: the release split one source table into several target tables. A row goes to
// the first part whose `when` holds; the last part has no `when` and takes the rest.
struct SplitPart {
  std::string table;  // target table
  SqlTemplate when;   // empty for the last part
};
struct SplitTable {
  std::string name;
  std::string table;  // source table
  std::vector<SplitPart> parts;
};

struct UpgradeRules {
  std::string path;  // the rule file, for messages; empty: no rules
  std::vector<ComputedColumn> computed;
  std::vector<AfterStatement> after;
  std::vector<DroppedTable> dropped;
  std::vector<RenamedColumn> renamed;
  std::vector<SplitTable> splits;

  bool empty() const {
    return computed.empty() && after.empty() && dropped.empty() && renamed.empty() &&
           splits.empty();
  }
  // The drop rule of source table schema.table; nullptr if none.
  const DroppedTable* DropOf(const std::string& schema, const std::string& table) const;
  // The split of source table schema.table; nullptr if none.
  const SplitTable* SplitOf(const std::string& schema, const std::string& table) const;
  // The target column source column `column` of schema.table is renamed to; "" if none.
  std::string RenameOf(const std::string& schema, const std::string& table,
                       const std::string& column) const;
};

// Whether a rule's table ("table" or "schema.table") names schema.table, by the one name
// rule (exact, else ASCII case only).
bool RuleTableNames(const std::string& rule_table, const std::string& schema,
                    const std::string& table);

// Reads and checks a rule file. Problems name the file, the rule and the key (exit 2).
Status LoadUpgradeRules(const std::string& path, UpgradeRules* out);
Status ParseUpgradeRules(const std::string& toml_text, const std::string& origin,
                         UpgradeRules* out);

}  // namespace stagesync
