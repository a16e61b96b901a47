#include "target_catalog.h"

#include "stagesync/config.h"
#include "stagesync/pg.h"

namespace stagesync::apply {

std::string TargetTable::Ident() const {
  return pg::QualifiedIdent(schema, name);
}

int TargetTable::FindColumn(const std::string& wanted) const {
  return FindName(columns, wanted,
                  [](const TargetColumn& c) -> const std::string& { return c.name; });
}

std::optional<TargetTable> LoadTargetTable(pqxx::transaction_base& tx, const std::string& schema,
                                           const std::string& table) {
  // lower() under the "C" collation folds ASCII letters only, as AsciiLower does; under the
  // database's own collation it could fold 'Ü' to 'ü' and find a namesake instead.
  auto found = tx.exec_params(
      "SELECT c.oid, n.nspname, c.relname FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND lower(n.nspname COLLATE \"C\") = $1 "
      "AND lower(c.relname COLLATE \"C\") = $2",
      AsciiLower(schema), AsciiLower(table));
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& r : found) names.emplace_back(r[1].as<std::string>(), r[2].as<std::string>());
  int pick = FindQualifiedName(names, schema, table);
  if (pick < 0) return std::nullopt;
  TargetTable t;
  auto oid = found[pick][0].as<uint32_t>();
  t.schema = names[pick].first;
  t.name = names[pick].second;
  auto cols = tx.exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
      "  (SELECT bt.typcategory FROM pg_type bt WHERE bt.oid = "
      "     CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END) = 'A', "
      "  a.attidentity = 'a', a.attgenerated <> '', "
      // cast_type: an array's element (or the type itself) through its domains down to the
      // base type, formatted without a modifier ("bit" alone would mean bit(1): typmod -1
      // prints it as "bit" in quotes).
      "  (WITH RECURSIVE b(oid, typtype, base) AS ("
      "     SELECT e.oid, e.typtype, e.typbasetype FROM pg_type e "
      "     WHERE e.oid = CASE WHEN el.typarray = ty.oid THEN el.oid ELSE ty.oid END "
      "     UNION ALL SELECT d.oid, d.typtype, d.typbasetype FROM pg_type d "
      "     JOIN b ON d.oid = b.base WHERE b.typtype = 'd') "
      "   SELECT format_type(CASE WHEN el.typarray = ty.oid THEN bt.typarray ELSE b.oid END, -1) "
      "   FROM b JOIN pg_type bt ON bt.oid = b.oid WHERE b.typtype <> 'd') "
      "FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
      "LEFT JOIN pg_type el ON el.oid = ty.typelem "
      "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      oid);
  for (const auto& r : cols) {
    TargetColumn c;
    c.name = r[0].as<std::string>();
    c.type = r[1].as<std::string>();
    c.is_array = r[2].as<bool>(false);
    c.identity_always = r[3].as<bool>();
    c.generated = r[4].as<bool>();
    c.cast_type = r[5].as<std::string>(c.type);
    t.columns.push_back(std::move(c));
  }
  // Primary key first; otherwise the first unique, non-partial index on NOT NULL columns.
  auto keys = tx.exec_params(
      "SELECT i.indisprimary, array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) "
      "    WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid "
      "    AND a.attnum = k.attnum ORDER BY k.ord), chr(1)), "
      "  bool_and(a2.attnotnull) "
      "FROM pg_index i JOIN pg_attribute a2 ON a2.attrelid = i.indrelid AND a2.attnum = "
      "ANY(i.indkey) "
      "WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
      "  AND i.indimmediate "
      "GROUP BY i.indexrelid, i.indisprimary, i.indkey, i.indrelid "
      "ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1",
      oid);
  if (!keys.empty() && (keys[0][0].as<bool>() || keys[0][2].as<bool>())) {
    std::string names = keys[0][1].as<std::string>();
    size_t start = 0;
    while (start <= names.size()) {
      size_t end = names.find('\1', start);
      if (end == std::string::npos) end = names.size();
      int idx = t.FindColumn(names.substr(start, end - start));
      if (idx >= 0) t.key.push_back(idx);
      start = end + 1;
    }
  }
  return t;
}

Status TargetDsnProblem(const std::string& error) {
  return Status::Usage("target.dsn: " + error +
                       "; check host, port, dbname and user in [target] dsn and the password "
                       "(or password_file), and that the target server is up");
}

}  // namespace stagesync::apply
