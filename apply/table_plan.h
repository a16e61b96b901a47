// How one source relation lands in one target table: column correspondence, the key used to
// find rows, and the SQL for each kind of batched statement.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stagesync/apply.h"
#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/status.h"
#include "stagesync/upgrade_rules.h"
#include "target_catalog.h"

namespace stagesync::apply {

// An [upgrade] rule resolved against one plan: the source column of each of its parameters.
struct PlanComputed {
  ComputedColumn rule;
  std::string label;        // the rule, for messages
  int target_column = -1;   // into target.columns
  std::vector<int> params;  // source column per rule.value.params
};
struct PlanAfter {
  AfterStatement rule;
  std::string label;
  std::vector<int> params;  // source column per rule.statement.params
};

struct TablePlan {
  RelationPtr relation;
  TargetTable target;
  int id = 0;                          // unique per plan, names its prepared statements
  std::vector<int> source_to_target;   // per source column: target column, or -1 (dropped)
  std::vector<int> key_source;         // source columns that locate a target row
  bool key_unique = false;             // key_source is the target's primary/unique key
  bool keyless = false;                // no usable key: rows are located by their full old image
  std::vector<PlanComputed> computed;  // [[compute]] and [[default]] rules on the target table
  std::vector<PlanAfter> after;        // [[after]] rules on the target table

  std::string TargetName() const { return target.schema + "." + target.name; }
};

// Source columns that existed at setup time, per lower-cased "schema.table": those may be
// absent from the target (dropped with a warning); any other absent column is an error.
using KnownSourceColumns = std::map<std::string, std::set<std::string>>;

// Resolves target table and columns for `relation`. Problems name the table/column and the fix.
Status BuildTablePlan(const Config& config, const RelationPtr& relation, const TargetTable& target,
                      const KnownSourceColumns& known, int id, TablePlan* plan,
                      std::vector<std::string>* warnings);

// The correspondence of `source` and a loaded `target` table (see apply.h).
TableCorrespondence Correspond(const Config& config, const TableShape& source,
                               const TargetTable& target);

// Setup's record of the source columns: lower-cased ("schema.table", column) pairs.
std::set<std::pair<std::string, std::string>> SourceColumnSnapshot(
    const std::vector<TableShape>& source_tables);

// Setup's warnings for source tables staging does not have (yet) and source columns it lacks;
// `find` looks a (mapped) target table up.
using TargetLookup =
    std::function<std::optional<TargetTable>(const std::string& schema, const std::string& table)>;
void WarnAboutMissingTargets(const Config& config, const std::vector<TableShape>& source_tables,
                             const TargetLookup& find, std::vector<std::string>* warnings);

// Which target table a source table maps to ("schema.table" with the source's spelling when
// no [mapping] entry renames it).
std::pair<std::string, std::string> MappedTargetName(const Config& config,
                                                     const std::string& schema,
                                                     const std::string& table);

// Checks the [mapping] column renames of `source`: each must name a column the source table
// has, and a column `target` has (nullptr: no target table yet, only the source side is
// checked). One problem per mistyped column, naming the mapping key, the column and the fix.
void CheckMappedColumns(const Config& config, const TableShape& source, const TargetTable* target,
                        std::vector<std::string>* problems);

// Mapped, written source columns a row image of this shape (`present`) does not carry,
// comma-separated; empty when it carries them all.
std::string UnsentColumns(const TablePlan& plan, const std::vector<bool>& present);
// Why an update of a row the target lacks, without its `unsent` columns, cannot be written.
std::string IncompleteRowMessage(const TablePlan& plan, const std::string& unsent);

// The target column a source column feeds: its [mapping] rename, else the same name.
std::string MappedColumnName(const Config& config, const std::string& source_table,
                             const std::string& column);

// Per source column of `source_table`, the index of the target column it feeds (-1: none):
// its MappedColumnName as FindColumn pairs it, except that a target column another source
// column names exactly is that one's. PostgreSQL holds "Name" and "name" as two columns; with
// only "name" on the target, "Name" folded onto it too would write the column twice.
std::vector<int> FedTargetColumns(const Config& config, const std::string& source_table,
                                  const std::vector<std::string>& source_columns,
                                  const TargetTable& target);

// SQL for set-based statements over unnest()ed array parameters. `present` marks the source
// columns carried by the rows (unchanged TOAST values are left out so they keep the target's
// value). Parameter order: for kDelete the key columns; for kUpdate the (old) key columns,
// then the present mapped columns; for kInsert the present mapped columns.
struct StatementShape {
  RowOp op;
  std::vector<bool> present;
  bool key_change = false;        // update that may move the key: key columns are SET too
  std::vector<bool> old_present;  // keyless plans: old-image columns used to find the row
  // kUpdate on keyed plans: the statement that inserts rows the update did not find (same
  // parameters). The update itself reports how many rows it found; this runs only when
  // some were missing, i.e. when replaying onto a target that lacks them.
  bool insert_missing = false;
};
std::string BuildStatement(const TablePlan& plan, const StatementShape& shape);
// Which values fill the parameters, in order.
struct ParamSource {
  enum class From { kKey, kNew, kOld } from;
  int index;  // into the row's key values, or a source column
};
std::vector<ParamSource> StatementParams(const TablePlan& plan, const StatementShape& shape);

}  // namespace stagesync::apply
