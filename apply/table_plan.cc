#include "table_plan.h"

#include <algorithm>

#include "rule_plan.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"

namespace stagesync::apply {
namespace {

using pg::QuoteIdent;

// Mapped source columns carried by a row of this shape, in source order.
std::vector<int> WrittenColumns(const TablePlan& plan, const std::vector<bool>& present) {
  std::vector<int> out;
  for (size_t i = 0; i < plan.source_to_target.size(); ++i) {
    int t = plan.source_to_target[i];
    if (t < 0 || !present[i] || plan.target.columns[t].generated) continue;
    out.push_back(static_cast<int>(i));
  }
  return out;
}

const TargetColumn& TargetOf(const TablePlan& plan, int source_col) {
  return plan.target.columns[plan.source_to_target[source_col]];
}

// Parameter as a typed array; array-typed columns travel as text[] and are cast per row.
// Casts go to the type without its modifier: the column's assignment then rejects a value
// that does not fit, where an explicit cast to varchar(n) or bit(n) would cut it silently.
std::string ParamArray(int n, const TargetColumn& c) {
  return "$" + std::to_string(n) + (c.is_array ? "::text[]" : "::" + c.cast_type + "[]");
}
std::string ValueExpr(const std::string& alias, const TargetColumn& c) {
  return c.is_array ? "(" + alias + ")::" + c.cast_type : alias;
}

bool IsKeyColumn(const TablePlan& plan, int source_col) {
  return std::find(plan.key_source.begin(), plan.key_source.end(), source_col) !=
         plan.key_source.end();
}

std::string InsertColumnList(const TablePlan& plan, const std::vector<int>& cols) {
  std::string out;
  for (int c : cols) out += (out.empty() ? "" : ", ") + QuoteIdent(TargetOf(plan, c).name);
  return out;
}

std::string Overriding(const TablePlan& plan, const std::vector<int>& cols) {
  for (int c : cols) {
    if (TargetOf(plan, c).identity_always) return " OVERRIDING SYSTEM VALUE";
  }
  return "";
}

}  // namespace

std::string UnsentColumns(const TablePlan& plan, const std::vector<bool>& present) {
  std::string out;
  for (size_t i = 0; i < plan.source_to_target.size() && i < present.size(); ++i) {
    int t = plan.source_to_target[i];
    if (t < 0 || present[i] || plan.target.columns[t].generated) continue;
    out += (out.empty() ? "" : ", ") + plan.relation->columns[i].name;
  }
  return out;
}

std::string IncompleteRowMessage(const TablePlan& plan, const std::string& unsent) {
  return "the target has no such row, and the update does not carry its unchanged columns " +
         unsent +
         " (the source sends unchanged TOAST values only in a full old row), so the row cannot "
         "be written whole. Copy that row (or the table) to the target again, or run ALTER "
         "TABLE " +
         pg::QualifiedIdent(plan.relation->schema, plan.relation->name) +
         " REPLICA IDENTITY FULL; on the source so that updates carry them";
}

namespace {

// The one column setup knew for this table that the source no longer sends and the target
// still has, if there is exactly one: what an unknown new source column was likely renamed
// from.
std::optional<std::string> RenamedFrom(const SourceRelation& relation, const TargetTable& target,
                                       const std::set<std::string>* known) {
  if (!known) return std::nullopt;
  std::set<std::string> sent;
  for (const auto& c : relation.columns) sent.insert(AsciiLower(c.name));
  std::optional<std::string> found;
  for (const auto& c : target.columns) {
    std::string lower = AsciiLower(c.name);
    if (!known->count(lower) || sent.count(lower)) continue;
    if (found) return std::nullopt;
    found = c.name;
  }
  return found;
}

}  // namespace

Status BuildTablePlan(const Config& config, const RelationPtr& relation, const TargetTable& target,
                      const KnownSourceColumns& known, int id, TablePlan* plan,
                      std::vector<std::string>* warnings) {
  *plan = TablePlan{};  // nothing of a plan built before carries over
  plan->relation = relation;
  plan->target = target;
  plan->id = id;
  const std::string source_name = relation->QualifiedName();
  auto known_it = known.find(AsciiLower(source_name));
  std::vector<std::string> names;
  for (const auto& c : relation->columns) names.push_back(c.name);
  const std::vector<int> fed = FedTargetColumns(config, source_name, names, target);
  plan->source_to_target.assign(relation->columns.size(), -1);
  for (size_t i = 0; i < relation->columns.size(); ++i) {
    const std::string& name = relation->columns[i].name;
    const std::string wanted = MappedColumnName(config, source_name, name);
    if (fed[i] >= 0) {
      plan->source_to_target[i] = fed[i];
      continue;
    }
    bool was_known = known_it != known.end() && known_it->second.count(AsciiLower(name));
    if (!was_known) {
      std::string problem = "source column " + source_name + "." + name + " has no target column " +
                            plan->TargetName() + "." + wanted +
                            ", and it did not exist when `stagesync setup` ran: ";
      if (auto old = RenamedFrom(*relation, target,
                                 known_it == known.end() ? nullptr : &known_it->second)) {
        // A column setup knew is gone from the source and the target still has it.
        return Status::Error(problem + "if the source renamed " + *old + " to " + name +
                             ", rename it on the target too (ALTER TABLE " + target.Ident() +
                             " RENAME COLUMN " + QuoteIdent(*old) + " TO " + QuoteIdent(wanted) +
                             ";) or map " + name + " to " + *old +
                             " in [mapping]; then start again");
      }
      return Status::Error(
          problem + "add it to the target as the source defines it, with the same type and " +
          "DEFAULT (ALTER TABLE " + target.Ident() + " ADD COLUMN " + QuoteIdent(wanted) +
          " <type> DEFAULT <the source's default>; without the default, rows staging already "
          "holds keep NULL where production has the default), or map it in [mapping], or rerun "
          "`stagesync setup` to drop its values knowingly");
    }
    warnings->push_back("source column " + source_name + "." + name + " has no target column in " +
                        plan->TargetName() + "; its values are dropped");
  }
  // Locate rows by the target's key when every key column is fed from the source identity.
  std::vector<int> by_target_key;
  for (int tk : target.key) {
    auto it = std::find(plan->source_to_target.begin(), plan->source_to_target.end(), tk);
    if (it == plan->source_to_target.end()) {
      by_target_key.clear();
      break;
    }
    by_target_key.push_back(static_cast<int>(it - plan->source_to_target.begin()));
  }
  bool full = relation->replica_identity == 'f';
  bool target_key_usable =
      !by_target_key.empty() && std::all_of(by_target_key.begin(), by_target_key.end(), [&](int s) {
        return full || relation->columns[s].part_of_key;
      });
  if (target_key_usable) {
    plan->key_source = by_target_key;
    plan->key_unique = true;
  } else {
    // With REPLICA IDENTITY FULL every column is flagged as key: that identifies a row image,
    // not a row (duplicates are legal), so such tables are located row by row instead.
    for (size_t i = 0; i < relation->columns.size() && !full; ++i) {
      if (relation->columns[i].part_of_key) plan->key_source.push_back(static_cast<int>(i));
    }
    bool mapped = !plan->key_source.empty() &&
                  std::all_of(plan->key_source.begin(), plan->key_source.end(),
                              [&](int s) { return plan->source_to_target[s] >= 0; });
    if (!mapped) {
      plan->key_source.clear();
      if (!full) {
        return Status::Error("target table " + plan->TargetName() +
                             " has no primary key that matches the source's identity of " +
                             source_name +
                             ": add the primary key to the target, or run ALTER "
                             "TABLE " +
                             pg::QualifiedIdent(relation->schema, relation->name) +
                             " REPLICA IDENTITY FULL; on the source");
      }
      plan->keyless = true;
    }
  }
  return ResolvePlanRules(config, plan);
}

namespace {

bool Contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The computed columns a statement of this shape writes: in its insert (with ON CONFLICT) and
// in its update.
struct ShapeRules {
  std::vector<const PlanComputed*> insert, update;
};
ShapeRules RulesOf(const TablePlan& plan, const StatementShape& shape) {
  ShapeRules r;
  if (shape.op == RowOp::kDelete) return r;
  bool inserts = shape.op == RowOp::kInsert || shape.insert_missing || plan.keyless;
  bool updates = shape.op == RowOp::kUpdate && !shape.insert_missing;
  if (inserts) r.insert = ComputedFor(plan, RowOp::kInsert, shape.present);
  if (updates) r.update = ComputedFor(plan, RowOp::kUpdate, shape.present);
  return r;
}

// Source columns the shape's rules read that it does not write: extra text parameters. An
// update and the insert of the rows it did not find take the same parameters, so both
// statements' rules count.
std::vector<int> RuleOnlyParams(const TablePlan& plan, const StatementShape& shape) {
  const std::vector<int> written = WrittenColumns(plan, shape.present);
  std::vector<int> out;
  ShapeRules rules = RulesOf(plan, shape);
  if (shape.op == RowOp::kUpdate) {
    rules.insert = ComputedFor(plan, RowOp::kInsert, shape.present);
    rules.update = ComputedFor(plan, RowOp::kUpdate, shape.present);
  }
  for (const auto* part : {&rules.insert, &rules.update}) {
    for (const PlanComputed* c : *part) {
      for (int p : c->params) {
        if (!Contains(written, p) && !Contains(out, p)) out.push_back(p);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<ParamSource> StatementParams(const TablePlan& plan, const StatementShape& shape) {
  std::vector<ParamSource> out;
  if (plan.keyless) {
    if (shape.op != RowOp::kInsert) {
      for (int c : WrittenColumns(plan, shape.old_present))
        out.push_back({ParamSource::From::kOld, c});
    }
    if (shape.op != RowOp::kDelete) {
      for (int c : WrittenColumns(plan, shape.present)) out.push_back({ParamSource::From::kNew, c});
      for (int c : RuleOnlyParams(plan, shape)) out.push_back({ParamSource::From::kNew, c});
    }
    return out;
  }
  if (shape.op != RowOp::kInsert) {
    for (size_t k = 0; k < plan.key_source.size(); ++k) {
      out.push_back({ParamSource::From::kKey, static_cast<int>(k)});
    }
  }
  if (shape.op != RowOp::kDelete) {
    for (int c : WrittenColumns(plan, shape.present)) out.push_back({ParamSource::From::kNew, c});
    for (int c : RuleOnlyParams(plan, shape)) out.push_back({ParamSource::From::kNew, c});
  }
  return out;
}

std::string BuildStatement(const TablePlan& plan, const StatementShape& shape) {
  const std::string table = plan.target.Ident();
  const std::vector<int> cols =
      shape.op == RowOp::kDelete ? std::vector<int>{} : WrittenColumns(plan, shape.present);
  int n = 0;
  std::vector<std::string> unnest_args, aliases;
  std::vector<std::string> key_expr;   // per key column: v.kN (typed)
  std::vector<std::string> old_alias;  // keyless: per old column alias (text)
  std::vector<int> old_cols;
  std::vector<std::string> new_expr;  // per written column: typed value expression

  if (plan.keyless && shape.op != RowOp::kInsert) {
    old_cols = WrittenColumns(plan, shape.old_present);
    for (size_t i = 0; i < old_cols.size(); ++i) {
      std::string a = "o" + std::to_string(i + 1);
      unnest_args.push_back("$" + std::to_string(++n) + "::text[]");
      aliases.push_back(a);
      old_alias.push_back("v." + a);
    }
  } else if (!plan.keyless && shape.op != RowOp::kInsert) {
    for (size_t i = 0; i < plan.key_source.size(); ++i) {
      const TargetColumn& c = TargetOf(plan, plan.key_source[i]);
      std::string a = "k" + std::to_string(i + 1);
      unnest_args.push_back(ParamArray(++n, c));
      aliases.push_back(a);
      key_expr.push_back(ValueExpr("v." + a, c));
    }
  }
  for (size_t i = 0; i < cols.size(); ++i) {
    const TargetColumn& c = TargetOf(plan, cols[i]);
    std::string a = "p" + std::to_string(i + 1);
    unnest_args.push_back(ParamArray(++n, c));
    aliases.push_back(a);
    new_expr.push_back(ValueExpr("v." + a, c));
  }
  // Computed columns: each parameter is the row's typed value where the statement writes the
  // column, else an extra text parameter.
  const ShapeRules rules = RulesOf(plan, shape);
  const std::vector<int> extra = RuleOnlyParams(plan, shape);
  for (size_t i = 0; i < extra.size(); ++i) {
    std::string a = "r" + std::to_string(i + 1);
    unnest_args.push_back("$" + std::to_string(++n) + "::text[]");
    aliases.push_back(a);
  }
  auto param_expr = [&](int source_col) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i] == source_col) return new_expr[i];
    }
    auto at = std::find(extra.begin(), extra.end(), source_col) - extra.begin();
    return "v.r" + std::to_string(at + 1);
  };
  auto computed_expr = [&](const PlanComputed* c) {
    return "(" + c->rule.value.Render([&](size_t i) {
      return "(" + param_expr(c->params[i]) + ")";
    }) + ")";
  };
  std::string computed_cols, computed_values;
  for (const PlanComputed* c : rules.insert) {
    computed_cols += ", " + QuoteIdent(plan.target.columns[c->target_column].name);
    computed_values += ", " + computed_expr(c);
  }
  auto join = [](const std::vector<std::string>& parts, const std::string& sep) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
    return out;
  };
  const std::string source =
      "unnest(" + join(unnest_args, ", ") + ") AS v(" + join(aliases, ", ") + ")";
  const std::string insert_cols = InsertColumnList(plan, cols) + computed_cols;
  const std::string overriding = Overriding(plan, cols);

  std::vector<std::string> key_match;  // t.key = v.k
  for (size_t i = 0; i < key_expr.size(); ++i) {
    key_match.push_back("t." + QuoteIdent(TargetOf(plan, plan.key_source[i]).name) + " = " +
                        key_expr[i]);
  }
  std::vector<std::string> old_match;  // keyless: text image comparison
  for (size_t i = 0; i < old_cols.size(); ++i) {
    old_match.push_back("t." + QuoteIdent(TargetOf(plan, old_cols[i]).name) +
                        "::text IS NOT DISTINCT FROM " + old_alias[i]);
  }
  std::vector<std::string> set_list;
  for (size_t i = 0; i < cols.size(); ++i) {
    const TargetColumn& c = TargetOf(plan, cols[i]);
    if (c.identity_always) continue;
    if (!shape.key_change && !plan.keyless && IsKeyColumn(plan, cols[i])) continue;
    set_list.push_back(QuoteIdent(c.name) + " = " + new_expr[i]);
  }
  for (const PlanComputed* c : rules.update) {
    set_list.push_back(QuoteIdent(plan.target.columns[c->target_column].name) + " = " +
                       computed_expr(c));
  }
  const std::string insert_values = join(new_expr, ", ") + computed_values;

  switch (shape.op) {
    case RowOp::kInsert: {
      std::string sql = "INSERT INTO " + table + " AS t (" + insert_cols + ")" + overriding +
                        " SELECT " + insert_values + " FROM " + source;
      if (plan.keyless) return sql;
      std::vector<std::string> conflict_cols, updates;
      for (int k : plan.key_source) conflict_cols.push_back(QuoteIdent(TargetOf(plan, k).name));
      for (size_t i = 0; i < cols.size(); ++i) {
        const TargetColumn& c = TargetOf(plan, cols[i]);
        if (IsKeyColumn(plan, cols[i]) || c.identity_always) continue;
        updates.push_back(QuoteIdent(c.name) + " = excluded." + QuoteIdent(c.name));
      }
      // Replayed onto a row staging has: computed again from this image; defaults stay.
      for (const PlanComputed* c : rules.insert) {
        if (c->rule.is_default) continue;
        std::string name = QuoteIdent(plan.target.columns[c->target_column].name);
        updates.push_back(name + " = excluded." + name);
      }
      return sql + " ON CONFLICT (" + join(conflict_cols, ", ") + ") DO " +
             (updates.empty() ? "NOTHING" : "UPDATE SET " + join(updates, ", "));
    }
    case RowOp::kDelete: {
      if (plan.keyless) {
        return "WITH v AS (SELECT * FROM " + source + "), r AS (SELECT t.ctid AS row_id FROM " +
               table + " AS t, v WHERE " + join(old_match, " AND ") + " LIMIT 1) DELETE FROM " +
               table + " AS t WHERE t.ctid = (SELECT row_id FROM r)";
      }
      return "DELETE FROM " + table + " AS t USING " + source + " WHERE " +
             join(key_match, " AND ");
    }
    case RowOp::kUpdate: {
      std::string located;
      if (plan.keyless) {
        std::string row = "(SELECT t.ctid FROM " + table + " AS t, v WHERE " +
                          join(old_match, " AND ") + " LIMIT 1)";
        located = set_list.empty()
                      ? "u AS (SELECT 1 FROM " + table + " AS t WHERE t.ctid = " + row + ")"
                      : "u AS (UPDATE " + table + " AS t SET " + join(set_list, ", ") +
                            " FROM v WHERE t.ctid = " + row + " RETURNING 1)";
        return "WITH v AS (SELECT * FROM " + source + "), " + located + " INSERT INTO " + table +
               " (" + insert_cols + ")" + overriding + " SELECT " + insert_values +
               " FROM v WHERE NOT EXISTS (SELECT 1 FROM u)";
      }
      if (shape.insert_missing) {
        std::vector<std::string> lookup;  // the target row with v's key
        for (size_t i = 0; i < plan.key_source.size(); ++i) {
          lookup.push_back("x." + QuoteIdent(TargetOf(plan, plan.key_source[i]).name) + " = " +
                           key_expr[i]);
        }
        return "INSERT INTO " + table + " AS t (" + insert_cols + ")" + overriding + " SELECT " +
               insert_values + " FROM " + source + " WHERE NOT EXISTS (SELECT 1 FROM " + table +
               " AS x WHERE " + join(lookup, " AND ") + ") ON CONFLICT DO NOTHING";
      }
      // Keys are unique within a batch, so the rows affected count the rows found.
      if (set_list.empty()) {
        return "SELECT 1 FROM " + table + " AS t JOIN " + source + " ON " +
               join(key_match, " AND ");
      }
      return "UPDATE " + table + " AS t SET " + join(set_list, ", ") + " FROM " + source +
             " WHERE " + join(key_match, " AND ");
    }
  }
  return {};
}

}  // namespace stagesync::apply
