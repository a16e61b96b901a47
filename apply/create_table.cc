// Target DDL from a source definition. Same engine: the source's own spelling of each type and
// default. Across engines: the type each value travels as (its PostgreSQL type) mapped onto the
// target's, and only defaults that are literals; anything else is named, never guessed.
#include "create_table.h"

#include <algorithm>
#include <regex>

#include "stagesync/mysql.h"
#include "stagesync/pg.h"
#include "table_plan.h"

namespace stagesync::apply {
namespace {

constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                   kJson = 114, kFloat4 = 700, kFloat8 = 701, kBpchar = 1042, kVarchar = 1043,
                   kDate = 1082, kTime = 1083, kTimestamp = 1114, kTimestampTz = 1184, kBit = 1560,
                   kNumeric = 1700, kUuid = 2950, kJsonb = 3802;

std::string Precision(int32_t typmod) {
  return typmod >= 0 ? "(" + std::to_string(typmod) + ")" : "";
}

// The number in "bit(5)", "varchar(20)": the source's own spelling; "" if none.
std::string Length(const std::string& source_type) {
  std::smatch m;
  static const std::regex re(R"(\((\d+)\))");
  return std::regex_search(source_type, m, re) ? m[1].str() : "";
}

// A MySQL column's PostgreSQL type: the type its values travel as, with its modifier.
std::string PostgresType(const SourceColumn& c, const ColumnDefinition& d) {
  const std::string type = AsciiLower(d.source_type);
  switch (c.type_oid) {
    case kInt2:
      return "smallint";
    case kInt4:
      return "integer";
    case kInt8:
      return "bigint";
    case kFloat4:
      return "real";
    case kFloat8:
      return "double precision";
    case kNumeric:
      if (c.type_modifier < 4) return "numeric";
      return "numeric(" + std::to_string((c.type_modifier - 4) >> 16) + "," +
             std::to_string((c.type_modifier - 4) & 0xffff) + ")";
    case kDate:
      return "date";
    case kTime:
      return "time" + Precision(c.type_modifier);
    case kTimestamp:
      return "timestamp" + Precision(c.type_modifier);
    case kTimestampTz:
      return "timestamptz" + Precision(c.type_modifier);
    case kBit:
      return "bit(" + Length(type) + ")";
    case kBytea:
      return "bytea";
    case kJson:
      return "json";
    case kText:
      if (type.rfind("varchar", 0) == 0) return "varchar(" + Length(type) + ")";
      if (type.rfind("char", 0) == 0) return "char(" + Length(type) + ")";
      return "text";
  }
  return "";
}

// A PostgreSQL column's MySQL type; "" when none holds its values exactly.
std::string MysqlType(const SourceColumn& c, bool key, std::vector<std::string>* notes,
                      const std::string& where) {
  switch (c.type_oid) {
    case kBool:
      return "BOOLEAN";
    case kInt2:
      return "SMALLINT";
    case kInt4:
      return "INT";
    case kInt8:
      return "BIGINT";
    case kFloat4:
      return "FLOAT";
    case kFloat8:
      return "DOUBLE";
    case kNumeric:
      if (c.type_modifier < 4) return "";
      return "DECIMAL(" + std::to_string((c.type_modifier - 4) >> 16) + "," +
             std::to_string((c.type_modifier - 4) & 0xffff) + ")";
    case kVarchar:
      return c.type_modifier > 4 ? "VARCHAR(" + std::to_string(c.type_modifier - 4) + ")"
                                 : "LONGTEXT";
    case kBpchar:
      return "CHAR(" + std::to_string(std::max(1, c.type_modifier - 4)) + ")";
    case kText:
      if (!key) return "LONGTEXT";
      notes->push_back(where + ": text in the primary key is VARCHAR(768) on MySQL");
      return "VARCHAR(768)";
    case kBytea:
      return key ? "" : "LONGBLOB";
    case kDate:
      return "DATE";
    case kTime:
      return "TIME" + Precision(c.type_modifier < 0 ? 6 : c.type_modifier);
    case kTimestamp:
      return "DATETIME" + Precision(c.type_modifier < 0 ? 6 : c.type_modifier);
    case kTimestampTz:
      notes->push_back(where +
                       ": timestamptz is DATETIME on MySQL, in UTC, as the stream writes it");
      return "DATETIME" + Precision(c.type_modifier < 0 ? 6 : c.type_modifier);
    case kJson:
    case kJsonb:
      return "JSON";
    case kUuid:
      return "CHAR(36)";
    case kBit:
      return c.type_modifier > 0 ? "BIT(" + std::to_string(c.type_modifier) + ")" : "";
  }
  return "";
}

// A default both engines read alike: a number, a string, NULL or the current time; "" if not.
std::string LiteralDefault(std::string d, Engine target) {
  static const std::regex number(R"(^\(?(-?[0-9]+(\.[0-9]+)?)\)?(::[a-z ]+)?$)");
  static const std::regex text(R"(^('([^']|'')*')(::[a-z ]+(\(\d+\))?)?$)");
  std::smatch m;
  std::string lower = AsciiLower(d);
  if (std::regex_match(d, m, number)) return m[1].str();
  if (std::regex_match(d, m, text)) return m[1].str();
  if (lower == "null") return "NULL";
  if (lower == "now()" || lower == "current_timestamp" || lower == "current_timestamp()") {
    return "CURRENT_TIMESTAMP";
  }
  if (lower == "true" || lower == "false") {
    return target == Engine::kMysql ? (lower == "true" ? "1" : "0") : lower;
  }
  return "";
}

}  // namespace

TableDdl BuildCreateTable(const Config& config, const SourceRelation& relation,
                          const TableDefinition& definition, const std::string& schema,
                          const std::string& name) {
  TableDdl out;
  const bool same = definition.source == config.target.kind;
  const bool mysql = config.target.kind == Engine::kMysql;
  const std::string source = relation.QualifiedName();
  auto quote = [&](const std::string& ident) {
    return mysql ? mysql::QuoteIdent(ident) : pg::QuoteIdent(ident);
  };
  std::vector<std::string> lines;
  for (size_t i = 0; i < relation.columns.size() && i < definition.columns.size(); ++i) {
    const SourceColumn& c = relation.columns[i];
    const ColumnDefinition& d = definition.columns[i];
    const std::string where = source + "." + c.name;
    const bool key = std::find(definition.primary_key.begin(), definition.primary_key.end(),
                               c.name) != definition.primary_key.end();
    std::string type = same    ? d.source_type
                       : mysql ? MysqlType(c, key, &out.notes, where)
                               : PostgresType(c, d);
    if (type.empty()) {
      out.problems.push_back(where + " (" + d.source_type + ") has no " +
                             (mysql ? "MySQL" : "PostgreSQL") +
                             " type that holds its values exactly: create " +
                             (schema.empty() ? name : schema + "." + name) + " yourself");
      continue;
    }
    std::string line = quote(MappedColumnName(config, source, c.name)) + " " + type;
    if (!d.nullable) line += " NOT NULL";
    const bool integer = c.type_oid == kInt2 || c.type_oid == kInt4 || c.type_oid == kInt8;
    if (d.identity && integer) {
      if (!mysql) {
        line += " GENERATED BY DEFAULT AS IDENTITY";
      } else if (key && definition.primary_key.size() == 1) {
        line += " AUTO_INCREMENT";
      } else {
        out.notes.push_back(where +
                            ": its sequence is left out (AUTO_INCREMENT needs it to be "
                            "the key)");
      }
    } else if (!d.default_sql.empty()) {
      std::string value = same ? d.default_sql : LiteralDefault(d.default_sql, config.target.kind);
      if (value.empty()) {
        out.notes.push_back(where + ": its default " + d.default_sql + " is left out");
      } else {
        line += " DEFAULT " + value;
      }
    }
    lines.push_back(line);
  }
  if (!out.problems.empty()) return out;
  if (!definition.primary_key.empty()) {
    std::string key;
    for (const auto& k : definition.primary_key) {
      key += (key.empty() ? "" : ", ") + quote(MappedColumnName(config, source, k));
    }
    lines.push_back("PRIMARY KEY (" + key + ")");
  } else {
    out.notes.push_back(source + " has no primary key; neither has " + schema + "." + name);
  }
  std::string body;
  for (const auto& l : lines) body += (body.empty() ? "\n  " : ",\n  ") + l;
  if (mysql) {
    // No schema: the dsn's database.
    out.statements.push_back(
        "CREATE TABLE " +
        (schema.empty() ? mysql::QuoteIdent(name) : mysql::QualifiedIdent(schema, name)) + " (" +
        body + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  } else {
    out.statements.push_back("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(schema));
    out.statements.push_back("CREATE TABLE " + pg::QualifiedIdent(schema, name) + " (" + body +
                             "\n)");
  }
  return out;
}

}  // namespace stagesync::apply
