// MySQL/MariaDB secondary indexes and foreign keys of a target table, as SHOW CREATE TABLE
// writes them (so a re-created key is the same key, its prefix lengths, type and comment
// included), and the foreign keys of other tables that reference it.
#include <cppconn/connection.h>

#include "secondary_indexes.h"
#include "stagesync/mysql.h"

namespace stagesync::apply {
namespace {

// The backquoted identifier at `pos` (doubled backquotes inside), and the position after it.
bool QuotedName(const std::string& text, size_t pos, std::string* name, size_t* end) {
  if (pos >= text.size() || text[pos] != '`') return false;
  name->clear();
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] != '`') {
      *name += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == '`') {
      *name += '`';
      ++i;
    } else {
      *end = i + 1;
      return true;
    }
  }
  return false;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string CreateTableOf(sql::Connection& conn, const std::string& ident) {
  auto rows = mysql::Query(conn, "SHOW CREATE TABLE " + ident);
  return rows.empty() || rows[0].size() < 2 ? std::string() : rows[0][1];
}

}  // namespace

std::vector<CopyIndex> MysqlIndexesOf(const std::string& schema, const std::string& table,
                                      const std::string& create_table, bool keep_unique) {
  const std::string ident = mysql::QuoteIdent(schema) + "." + mysql::QuoteIdent(table);
  static const std::pair<const char*, const char*> kKeys[] = {{"  KEY ", "index"},
                                                              {"  UNIQUE KEY ", "unique index"},
                                                              {"  FULLTEXT KEY ", "fulltext index"},
                                                              {"  SPATIAL KEY ", "spatial index"}};
  std::vector<CopyIndex> keys, foreign;
  bool primary = false;
  size_t start = 0;
  while (start < create_table.size()) {
    size_t nl = create_table.find('\n', start);
    if (nl == std::string::npos) nl = create_table.size();
    std::string line = create_table.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == ',') line.pop_back();
    if (StartsWith(line, "  PRIMARY KEY ")) primary = true;
    CopyIndex index;
    index.table_schema = schema;
    index.table_name = table;
    size_t name_at = std::string::npos;
    for (const auto& [prefix, kind] : kKeys) {
      if (StartsWith(line, prefix)) {
        index.kind = kind;
        name_at = std::string(prefix).size();
      }
    }
    size_t end = 0;
    if (name_at != std::string::npos) {
      if (!QuotedName(line, name_at, &index.name, &end)) continue;
      index.drop_sql = "ALTER TABLE " + ident + " DROP INDEX " + mysql::QuoteIdent(index.name);
      index.create_sql = "ALTER TABLE " + ident + " ADD" + line.substr(1);
      keys.push_back(std::move(index));
      continue;
    }
    if (!StartsWith(line, "  CONSTRAINT ") || !QuotedName(line, 13, &index.name, &end) ||
        line.compare(end, 13, " FOREIGN KEY ") != 0) {
      continue;
    }
    // REFERENCES `parent` means the current database's parent: qualify it with the table's.
    size_t ref = line.find(" REFERENCES `", end);
    std::string parent;
    size_t after = 0;
    if (ref != std::string::npos && QuotedName(line, ref + 12, &parent, &after) &&
        (after >= line.size() || line[after] != '.')) {
      line.insert(ref + 12, mysql::QuoteIdent(schema) + ".");
    }
    index.kind = "foreign key";
    index.drop_sql = "ALTER TABLE " + ident + " DROP FOREIGN KEY " + mysql::QuoteIdent(index.name);
    index.create_sql = "ALTER TABLE " + ident + " ADD" + line.substr(1);
    foreign.push_back(std::move(index));
  }
  if (keep_unique || !primary) {
    std::erase_if(keys, [](const CopyIndex& i) { return i.kind == "unique index"; });
  }
  keys.insert(keys.end(), foreign.begin(), foreign.end());
  return keys;
}

std::vector<CopyIndex> ReadMysqlIndexes(sql::Connection& conn, const TargetTable& table,
                                        bool keep_unique) {
  const std::string ident = mysql::QuoteIdent(table.schema) + "." + mysql::QuoteIdent(table.name);
  std::vector<CopyIndex> out =
      MysqlIndexesOf(table.schema, table.name, CreateTableOf(conn, ident), keep_unique);
  // Foreign keys of other tables into this one: MySQL keeps the index they need.
  for (const auto& r :
       mysql::Query(conn,
                    "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME FROM "
                    "information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = " +
                        mysql::QuoteLiteral(table.schema) +
                        " AND REFERENCED_TABLE_NAME = " + mysql::QuoteLiteral(table.name) +
                        " AND NOT (CONSTRAINT_SCHEMA = UNIQUE_CONSTRAINT_SCHEMA AND TABLE_NAME = "
                        "REFERENCED_TABLE_NAME)")) {
    const std::string child = mysql::QuoteIdent(r[0]) + "." + mysql::QuoteIdent(r[1]);
    for (auto& i : MysqlIndexesOf(r[0], r[1], CreateTableOf(conn, child), true)) {
      if (i.foreign() && i.name == r[2]) out.push_back(std::move(i));
    }
  }
  return out;
}

bool MysqlIndexExists(sql::Connection& conn, const CopyIndex& index) {
  const std::string where = " WHERE TABLE_SCHEMA = " + mysql::QuoteLiteral(index.table_schema) +
                            " AND TABLE_NAME = " + mysql::QuoteLiteral(index.table_name);
  return !mysql::Query(conn, index.foreign()
                                 ? "SELECT 1 FROM information_schema.TABLE_CONSTRAINTS" + where +
                                       " AND CONSTRAINT_TYPE = 'FOREIGN KEY' AND "
                                       "CONSTRAINT_NAME = " +
                                       mysql::QuoteLiteral(index.name)
                                 : "SELECT 1 FROM information_schema.STATISTICS" + where +
                                       " AND INDEX_NAME = " + mysql::QuoteLiteral(index.name))
              .empty();
}

}  // namespace stagesync::apply
