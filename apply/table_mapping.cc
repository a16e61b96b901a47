// Which target table and columns a source table and its columns map to: [mapping] entries
// and renames, paired by the one name rule (exact, then ASCII case only; config.h).
#include "stagesync/pg.h"
#include "table_plan.h"

namespace stagesync::apply {

std::pair<std::string, std::string> MappedTargetName(const Config& config,
                                                     const std::string& schema,
                                                     const std::string& table) {
  auto it = FindByName(config.mapping, schema + "." + table);
  if (it != config.mapping.end() && !it->second.target_table.empty()) {
    return pg::SplitQualified(it->second.target_table);
  }
  // "schema.*" = { table = "other.*" }: the whole schema (MySQL: database) moves.
  it = FindByName(config.mapping, schema + ".*");
  if (it != config.mapping.end()) {
    const std::string& to = it->second.target_table;
    return {to.substr(0, to.size() - 2), table};
  }
  return {schema, table};
}

TableCorrespondence Correspond(const Config& config, const TableShape& source,
                               const TargetTable& target) {
  TableCorrespondence c;
  c.target_schema = target.schema;
  c.target_name = target.name;
  std::vector<std::string> source_of(target.columns.size());
  const std::vector<int> fed =
      FedTargetColumns(config, source.QualifiedName(), source.columns, target);
  for (size_t i = 0; i < source.columns.size(); ++i) {
    int t = fed[i];
    if (t < 0 || target.columns[t].generated) continue;
    c.columns.emplace_back(source.columns[i], target.columns[t].name);
    source_of[t] = source.columns[i];
  }
  for (int k : target.key) {
    if (k < 0 || source_of[k].empty()) {
      c.key.clear();  // the target's key is not all fed from the source
      break;
    }
    c.key.push_back(source_of[k]);
  }
  return c;
}

std::set<std::pair<std::string, std::string>> SourceColumnSnapshot(
    const std::vector<TableShape>& source_tables) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& t : source_tables) {
    for (const auto& c : t.columns) out.emplace(AsciiLower(t.QualifiedName()), AsciiLower(c));
  }
  return out;
}

void WarnAboutMissingTargets(const Config& config, const std::vector<TableShape>& source_tables,
                             const TargetLookup& find, std::vector<std::string>* warnings) {
  for (const auto& t : source_tables) {
    if (const DroppedTable* d = config.upgrade.rules.DropOf(t.schema, t.name)) {
      warnings->push_back("the changes of source table " + t.QualifiedName() +
                          " are dropped on purpose by [[drop]] rule \"" + d->name +
                          "\" (upgrade.rules " + config.upgrade.rules.path + "): " + d->reason);
      continue;
    }
    if (const SplitTable* split = config.upgrade.rules.SplitOf(t.schema, t.name)) {
      std::string parts;
      for (const auto& p : split->parts) parts += (parts.empty() ? "" : ", ") + p.table;
      warnings->push_back("the rows of source table " + t.QualifiedName() +
                          " are split by [[split]] rule \"" + split->name + "\" into " + parts);
      continue;
    }
    auto [schema, name] = MappedTargetName(config, t.schema, t.name);
    auto target = find(schema, name);
    if (!target) {
      warnings->push_back("target table " + schema + "." + name + " (for source " +
                          t.QualifiedName() +
                          ") does not exist yet: create or migrate staging before `run`");
      continue;
    }
    const std::vector<int> fed = FedTargetColumns(config, t.QualifiedName(), t.columns, *target);
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (fed[i] < 0) {
        warnings->push_back("source column " + t.QualifiedName() + "." + t.columns[i] +
                            " has no target column; its values will be dropped");
      }
    }
  }
}

void CheckMappedColumns(const Config& config, const TableShape& source, const TargetTable* target,
                        std::vector<std::string>* problems) {
  for (const auto& r : config.upgrade.rules.renamed) {
    if (target && RuleTableNames(r.table, source.schema, source.name) &&
        target->FindColumn(r.to) < 0) {
      problems->push_back("upgrade.rules " + config.upgrade.rules.path + ": [[rename]] rule \"" +
                          r.name + "\": target table " + target->schema + "." + target->name +
                          " has no column " + r.to + ": write the column as the release names it");
    }
  }
  auto it = FindByName(config.mapping, source.QualifiedName());
  if (it == config.mapping.end()) return;
  auto list = [](const auto& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  const std::string key = "mapping.\"" + it->first + "\".columns";
  auto same = [](const std::string& n) -> const std::string& { return n; };
  for (const auto& [from, to] : it->second.columns) {
    if (FindName(source.columns, from, same) < 0) {
      problems->push_back(key + ": source table " + source.QualifiedName() + " has no column " +
                          from + " (it has " + list(source.columns) +
                          "); write the source column's name on the left");
    } else if (target && target->FindColumn(to) < 0) {
      std::vector<std::string> names;
      for (const auto& c : target->columns) names.push_back(c.name);
      problems->push_back(key + "." + from + " = \"" + to + "\": target table " + target->schema +
                          "." + target->name + " has no column " + to + " (it has " + list(names) +
                          "); write the target column's name on the right");
    }
  }
}

std::string MappedColumnName(const Config& config, const std::string& source_table,
                             const std::string& column) {
  auto it = FindByName(config.mapping, source_table);
  if (it != config.mapping.end()) {
    auto renamed = FindByName(it->second.columns, column);
    if (renamed != it->second.columns.end()) return renamed->second;
  }
  // The release's renames ([upgrade] rules) after the config's own.
  auto dot = source_table.find('.');
  std::string by_rule =
      config.upgrade.rules.RenameOf(dot == std::string::npos ? "" : source_table.substr(0, dot),
                                    source_table.substr(dot + 1), column);
  return by_rule.empty() ? column : by_rule;
}

std::vector<int> FedTargetColumns(const Config& config, const std::string& source_table,
                                  const std::vector<std::string>& source_columns,
                                  const TargetTable& target) {
  std::vector<std::string> wanted;
  for (const auto& c : source_columns) wanted.push_back(MappedColumnName(config, source_table, c));
  std::vector<int> fed(wanted.size(), -1);
  std::vector<bool> named_exactly(target.columns.size(), false);
  for (size_t i = 0; i < wanted.size(); ++i) {
    fed[i] = target.FindColumn(wanted[i]);
    if (fed[i] >= 0 && target.columns[fed[i]].name == wanted[i]) named_exactly[fed[i]] = true;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (fed[i] >= 0 && named_exactly[fed[i]] && target.columns[fed[i]].name != wanted[i]) {
      fed[i] = -1;
    }
  }
  return fed;
}

}  // namespace stagesync::apply
