// The [upgrade] rules as apply evaluates them: resolved against a plan, chosen per statement,
// bound to a written row, and checked against the target before the window.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "batch.h"
#include "table_plan.h"

namespace stagesync::apply {

// "[[compute]] rule \"NAME\" (upgrade.rules FILE)", for messages.
std::string RuleLabel(const Config& config, const char* kind, const std::string& name);
std::string RuleLabel(const Config& config, const ComputedColumn& rule);

// Resolves the [[compute]], [[default]] and [[after]] rules on plan->target against
// plan->relation (called by BuildTablePlan). A rule that does not fit is an error naming the
// rule, the table and the fix (CheckTableRules finds the same before the window).
Status ResolvePlanRules(const Config& config, TablePlan* plan);

// The computed columns a row carrying the source columns `present` gets when it is inserted
// (kInsert) or updated (kUpdate): rules for that change whose parameters the row carries.
std::vector<const PlanComputed*> ComputedFor(const TablePlan& plan, RowOp op,
                                             const std::vector<bool>& present);

// A row as written, for [[after]] rules: `image` is empty for a delete of a keyed plan, whose
// parameters then come from `key` (the plan's key_source values).
struct WrittenRow {
  RowOp op;
  const Tuple* key;
  const Tuple* image;
};
// The written rows of a coalesced batch, in its order, a delete-then-insert as both.
std::vector<WrittenRow> WrittenRows(const TableBatch& batch);
// The value of source column `column` for a written row; nullptr when the row does not carry it.
const Value* WrittenValue(const TablePlan& plan, const WrittenRow& row, int column);

// The statements of the plan's [[after]] rules for `rows`: per rule (plan.after's order), one
// per row the rule acts on, in row order, each parameter written by `literal(value, target
// column fed by it or nullptr, out)`. A row without a parameter's value, or a value the
// literal cannot hold, is an error naming the rule.
using LiteralOf = std::function<Status(const Value&, const TargetColumn*, std::string*)>;
Status AfterStatements(const TablePlan& plan, const std::vector<WrittenRow>& rows,
                       const LiteralOf& literal, std::vector<std::vector<std::string>>* per_rule);
// An [[after]] rule's failure on the target, naming the rule and the table.
Status AfterError(const TablePlan& plan, const PlanAfter& a, const std::string& error);

// The target column source column `column` feeds, or nullptr.
const TargetColumn* FedColumn(const TablePlan& plan, int column);

// Checks the rules on the target table that source table `source` maps to (`target`: nullptr
// if it does not exist yet) and appends, per rule, one statement for the target to prepare in
// which each parameter is `typed_null(target column fed by it, or nullptr)`: an unknown table
// or column, or an expression the target rejects, is then named before the window.
struct RuleProbe {
  std::string label;  // the rule, for messages
  std::string table;  // the target table
  std::string sql;
};
using TypedNull = std::function<std::string(const TargetColumn*)>;
void CheckTableRules(const Config& config, const TableShape& source, const TargetTable* target,
                     const TypedNull& typed_null, std::vector<std::string>* problems,
                     std::vector<RuleProbe>* probes);

// A [[split]] rule resolved for a source relation: per part, the target table's name and the
// source column of each `when` parameter (the last part has no `when`).
struct SplitRoute {
  const SplitTable* rule = nullptr;
  std::string label;
  std::vector<std::pair<std::string, std::string>> tables;  // per part: schema, name
  std::vector<std::vector<int>> params;                     // per part
};
// A split part's target table: "schema.table" as written, else in the schema the source
// table maps to.
std::pair<std::string, std::string> PartTableName(const Config& config,
                                                  const std::string& part_table,
                                                  const std::string& schema,
                                                  const std::string& table);
// `columns`: the source table's columns. Problems name the rule, the part and the fix.
Status ResolveSplit(const Config& config, const SplitTable& rule, const std::string& schema,
                    const std::string& table, const std::vector<std::string>& columns,
                    SplitRoute* out);
// The CASE over the parts' `when` that names a row's part (0-based; NULL counts as false),
// with parameter i of part p written as param(p, i).
std::string RouteExpression(const SplitRoute& route,
                            const std::function<std::string(size_t, size_t)>& param);

// The target column that types source column `column` in a route: the first part's that it
// feeds; nullptr if none.
const TargetColumn* RouteColumn(const std::vector<const TablePlan*>& parts, int column);

// Setup's and run's check of every selected table against the target (`find` looks a mapped
// target table up): its [mapping] columns and its rules, with the probes to prepare.
// `require`: a missing target table is a problem (run), else it may come later (setup);
// a table dropped by a [[drop]] rule needs none.
void CheckTargetTables(const Config& config, const std::vector<TableShape>& source_tables,
                       const TargetLookup& find, bool require, const TypedNull& typed_null,
                       std::vector<std::string>* problems, std::vector<RuleProbe>* probes);

// The problem a probe the target would not prepare is: the rule, the table, the target's words.
std::string ProbeProblem(const RuleProbe& probe, const std::string& error);

// PostgreSQL's search_path for rule SQL: pg_catalog first (no user object shadows a built-in),
// then the schemas of the rules' tables (public for a table written without one).
std::string RuleSearchPath(const Config& config);

}  // namespace stagesync::apply
