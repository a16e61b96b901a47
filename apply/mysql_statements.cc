#include "mysql_statements.h"

#include <algorithm>

#include "rule_plan.h"
#include "stagesync/mysql.h"

namespace stagesync::apply {
namespace {

using mysql::QuoteIdent;
using mysql::QuoteLiteral;

bool OneOf(const std::string& type, std::initializer_list<const char*> types) {
  return std::any_of(types.begin(), types.end(), [&](const char* t) { return type == t; });
}

bool LooksNumeric(const std::string& s) {
  size_t i = s[0] == '-' ? 1 : 0;
  bool digits = false, dot = false, exp = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exp) {
      exp = true;
      if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
      digits = false;
    } else {
      return false;
    }
  }
  return digits;
}

std::string Columns(const TablePlan& plan, const std::vector<int>& sources) {
  std::string out;
  for (int s : sources) {
    out +=
        (out.empty() ? "" : ", ") + QuoteIdent(plan.target.columns[plan.source_to_target[s]].name);
  }
  return out;
}

std::string Table(const TablePlan& plan) {
  return mysql::QualifiedIdent(plan.target.schema, plan.target.name);
}

// Source columns written for an image: mapped, not generated, present.
std::vector<int> Written(const TablePlan& plan, const std::vector<bool>& present) {
  std::vector<int> out;
  for (size_t s = 0; s < plan.source_to_target.size(); ++s) {
    int t = plan.source_to_target[s];
    if (t < 0 || plan.target.columns[t].generated) continue;
    if (s < present.size() && present[s]) out.push_back(static_cast<int>(s));
  }
  return out;
}

Status Tuple_(const TablePlan& plan, const std::vector<int>& sources, const Tuple& values,
              std::string* out) {
  *out += '(';
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string lit;
    const TargetColumn& col = plan.target.columns[plan.source_to_target[sources[i]]];
    if (Status s = MysqlLiteral(col, values[sources[i]], &lit); !s.ok()) {
      return Status::Error("column " + col.name + ": " + s.message());
    }
    if (i) *out += ", ";
    *out += lit;
  }
  *out += ')';
  return Status::Ok();
}

// A parameter's value as a literal: typed by the target column it feeds, else a string.
Status ParamLiteral(const TablePlan& plan, int source_col, const Value& value, std::string* out) {
  if (const TargetColumn* col = FedColumn(plan, source_col)) return MysqlLiteral(*col, value, out);
  *out = value.is_null() ? "NULL" : QuoteLiteral(value.text);
  return Status::Ok();
}

// A computed column's value for a row of `values`, parenthesized.
Status ComputedValue(const TablePlan& plan, const PlanComputed& c, const Tuple& values,
                     std::string* out) {
  std::vector<std::string> literals(c.params.size());
  for (size_t i = 0; i < c.params.size(); ++i) {
    if (Status s = ParamLiteral(plan, c.params[i], values[c.params[i]], &literals[i]); !s.ok()) {
      return Status::Error("parameter :" + c.rule.value.params[i] + ": " + s.message());
    }
  }
  *out = "(" + c.rule.value.Render([&](size_t i) { return "(" + literals[i] + ")"; }) + ")";
  return Status::Ok();
}

std::string ComputedName(const TablePlan& plan, const PlanComputed& c) {
  return QuoteIdent(plan.target.columns[c.target_column].name);
}

// WHERE clause locating a row: by the plan's key, or (keyless) by the whole old image with
// NULL-safe equality.
Status Locate(const TablePlan& plan, const RowChange& c, std::string* out) {
  std::vector<int> cols;
  const Tuple* values = nullptr;
  Tuple key;
  if (!plan.keyless) {
    key = KeyOf(plan, c);
    cols = plan.key_source;
  } else {
    for (size_t s = 0; s < plan.source_to_target.size(); ++s) {
      if (plan.source_to_target[s] >= 0 && s < c.old_tuple.size() && !c.old_tuple[s].is_unchanged())
        cols.push_back(static_cast<int>(s));
    }
    values = &c.old_tuple;
  }
  for (size_t i = 0; i < cols.size(); ++i) {
    const TargetColumn& col = plan.target.columns[plan.source_to_target[cols[i]]];
    std::string lit;
    const Value& v = plan.keyless ? (*values)[cols[i]] : key[i];
    if (Status s = MysqlLiteral(col, v, &lit); !s.ok()) return s;
    *out +=
        (i ? " AND " : " WHERE ") + QuoteIdent(col.name) + (plan.keyless ? " <=> " : " = ") + lit;
  }
  if (plan.keyless) *out += " LIMIT 1";
  return Status::Ok();
}

}  // namespace

Status MysqlLiteral(const TargetColumn& column, const Value& value, std::string* out) {
  if (value.is_null()) {
    *out = "NULL";
    return Status::Ok();
  }
  const std::string& t = column.type;
  const std::string& v = value.text;
  if (OneOf(t, {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})) {
    if (v.rfind("\\x", 0) == 0) {
      *out = v.size() == 2 ? "''" : "X'" + v.substr(2) + "'";
    } else {
      *out = QuoteLiteral(v);
    }
    return Status::Ok();
  }
  if (t == "bit") {
    if (v == "t" || v == "f") {
      *out = v == "t" ? "1" : "0";
    } else if (!v.empty() && v.find_first_not_of("01") == std::string::npos) {
      *out = "b'" + v + "'";
    } else {
      *out = QuoteLiteral(v);
    }
    return Status::Ok();
  }
  if (OneOf(t, {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal",
                "numeric", "float", "double", "real", "year"})) {
    if (v == "t" || v == "f") {
      *out = v == "t" ? "1" : "0";
    } else if (v == "NaN" || v == "Infinity" || v == "-Infinity") {
      return Status::Error("value " + v + " cannot be stored in MySQL's " + t);
    } else if (!v.empty() && LooksNumeric(v)) {
      *out = v;
      // A literal without an exponent is DECIMAL to MySQL, whose conversion to double is
      // not always the nearest double; with one it is parsed as a double, exactly.
      if (OneOf(t, {"float", "double", "real"}) && v.find_first_of("eE") == std::string::npos) {
        *out += "e0";
      }
    } else {
      *out = QuoteLiteral(v);
    }
    return Status::Ok();
  }
  if (OneOf(t, {"datetime", "timestamp", "date"})) {
    if (v == "infinity" || v == "-infinity" || v.find(" BC") != std::string::npos) {
      return Status::Error("value " + v + " cannot be stored in MySQL's " + t);
    }
    std::string text = v;
    // Debezium's ZonedTimestamp (a MySQL TIMESTAMP through Kafka) is ISO 8601 in UTC:
    // 2024-01-02T03:04:05Z.
    if (text.size() > 10 && text[10] == 'T') text[10] = ' ';
    // timestamptz text comes in UTC (the session's zone), as "+00" (or "Z"); MySQL takes it
    // bare.
    for (const char* suffix : {"+00:00", "+00", "Z"}) {
      std::string s(suffix);
      if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) {
        text.resize(text.size() - s.size());
        break;
      }
    }
    *out = QuoteLiteral(text);
    return Status::Ok();
  }
  *out = QuoteLiteral(v);
  return Status::Ok();
}

namespace {

// Appends `v` escaped for LOAD DATA (backslash, tab, newline, NUL), a run at a time.
void AppendEscaped(std::string_view v, std::string* out) {
  size_t run = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* escape = c == '\\'   ? "\\\\"
                         : c == '\t' ? "\\t"
                         : c == '\n' ? "\\n"
                         : c == '\0' ? "\\0"
                                     : nullptr;
    if (!escape) continue;
    out->append(v.data() + run, i - run).append(escape, 2);
    run = i + 1;
  }
  out->append(v.data() + run, v.size() - run);
}

// A literal's value as LOAD DATA text: 'text' unquoted, X'..' as its bytes, numbers as they
// are. QuoteLiteral's \\ and \0 are LOAD DATA's escapes too; only '' and raw tabs and
// newlines change.
Status AppendLoadField(const std::string& literal, std::string* out) {
  if (literal == "NULL") {
    *out += "\\N";
  } else if (literal.size() >= 2 && literal.front() == '\'' && literal.back() == '\'') {
    const std::string_view inner(literal.data() + 1, literal.size() - 2);
    size_t run = 0;
    for (size_t i = 0; i < inner.size(); ++i) {
      const char c = inner[i];
      if (c == '\\') {
        ++i;  // an escape pair, kept as it is
      } else if (c == '\'' || c == '\t' || c == '\n') {
        out->append(inner.data() + run, i - run)
            .append(c == '\''   ? "'"
                    : c == '\t' ? "\\t"
                                : "\\n");
        i += c == '\'';  // '' is one quote
        run = i + 1;
      }
    }
    out->append(inner.data() + run, inner.size() - run);
  } else if (literal.rfind("X'", 0) == 0 && literal.back() == '\'') {
    std::string bytes;
    for (size_t i = 2; i + 2 < literal.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(literal.substr(i, 2), nullptr, 16));
    }
    AppendEscaped(bytes, out);
  } else if (literal.find_first_of("'(") == std::string::npos) {
    *out += literal;  // a number
  } else {
    return Status::Error("no LOAD DATA form for " + literal);
  }
  return Status::Ok();
}

std::vector<int> AllWritten(const TablePlan& plan) {
  return Written(plan, std::vector<bool>(plan.source_to_target.size(), true));
}

}  // namespace

Status MysqlLoadData(const TablePlan& plan, const std::vector<const Tuple*>& rows,
                     std::string* data) {
  const std::vector<int> cols = AllWritten(plan);
  std::string literal;
  data->reserve(rows.size() * 128);
  for (const Tuple* row : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      const TargetColumn& col = plan.target.columns[plan.source_to_target[cols[i]]];
      if (Status s = MysqlLiteral(col, (*row)[cols[i]], &literal); !s.ok()) return s;
      if (i) *data += '\t';
      if (Status s = AppendLoadField(literal, data); !s.ok()) return s;
    }
    *data += '\n';
  }
  return Status::Ok();
}

std::string MysqlLoadStatement(const TablePlan& plan, const std::string& path) {
  return "LOAD DATA LOCAL INFILE " + QuoteLiteral(path) + " INTO TABLE " + Table(plan) +
         " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES "
         "TERMINATED BY '\\n' (" +
         Columns(plan, AllWritten(plan)) + ")";
}

Status MysqlUpsert(const TablePlan& plan, const std::vector<const Tuple*>& images,
                   const std::vector<bool>& present, std::string* sql) {
  std::vector<int> cols = Written(plan, present);
  if (cols.empty()) return Status::Error("no column of " + plan.TargetName() + " to write");
  const std::vector<const PlanComputed*> computed = ComputedFor(plan, RowOp::kInsert, present);
  std::string computed_cols;
  for (const PlanComputed* c : computed) computed_cols += ", " + ComputedName(plan, *c);
  *sql = "INSERT INTO " + Table(plan) + " (" + Columns(plan, cols) + computed_cols + ") VALUES ";
  sql->reserve(images.size() * 64);
  for (size_t r = 0; r < images.size(); ++r) {
    if (r) *sql += ", ";
    if (Status s = Tuple_(plan, cols, *images[r], sql); !s.ok()) return s;
    for (const PlanComputed* c : computed) {
      std::string value;
      if (Status s = ComputedValue(plan, *c, *images[r], &value); !s.ok()) {
        return Status::Error(c->label + ": " + s.message());
      }
      sql->insert(sql->size() - 1, ", " + value);
    }
  }
  // Rows of a keyless table are only ever appended: a unique index over nullable columns
  // must reject a duplicate, as the source's insert would, not turn it into an update.
  if (plan.keyless) return Status::Ok();
  *sql += " ON DUPLICATE KEY UPDATE ";
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string c = QuoteIdent(plan.target.columns[plan.source_to_target[cols[i]]].name);
    *sql += (i ? ", " : "") + c + " = VALUES(" + c + ")";
  }
  // Replayed onto a row staging has: computed again from this image; defaults stay.
  for (const PlanComputed* c : computed) {
    if (c->rule.is_default) continue;
    std::string name = ComputedName(plan, *c);
    *sql += ", " + name + " = VALUES(" + name + ")";
  }
  // Rules for updates only: over the values the row would have been inserted with.
  for (const PlanComputed* c : ComputedFor(plan, RowOp::kUpdate, present)) {
    if (std::find(computed.begin(), computed.end(), c) != computed.end()) continue;
    std::vector<std::string> values;
    for (size_t i = 0; i < c->params.size(); ++i) {
      if (std::find(cols.begin(), cols.end(), c->params[i]) == cols.end()) {
        return Status::Error(c->label + ": parameter :" + c->rule.value.params[i] +
                             " names a source column the target does not have; a rule on "
                             "update only may read only columns written to the target");
      }
      values.push_back("VALUES(" + QuoteIdent(FedColumn(plan, c->params[i])->name) + ")");
    }
    *sql += ", " + ComputedName(plan, *c) + " = (" +
            c->rule.value.Render([&](size_t i) { return "(" + values[i] + ")"; }) + ")";
  }
  return Status::Ok();
}

Status MysqlDeleteByKeys(const TablePlan& plan, const std::vector<const Tuple*>& keys,
                         std::string* sql) {
  *sql = "DELETE FROM " + Table(plan) + " WHERE (" + Columns(plan, plan.key_source) + ") IN (";
  for (size_t r = 0; r < keys.size(); ++r) {
    if (r) *sql += ", ";
    *sql += '(';
    for (size_t i = 0; i < plan.key_source.size(); ++i) {
      std::string lit;
      const TargetColumn& col = plan.target.columns[plan.source_to_target[plan.key_source[i]]];
      if (Status s = MysqlLiteral(col, (*keys[r])[i], &lit); !s.ok()) return s;
      *sql += (i ? ", " : "") + lit;
    }
    *sql += ')';
  }
  *sql += ')';
  return Status::Ok();
}

Status MysqlCountByKeys(const TablePlan& plan, const std::vector<const Tuple*>& keys,
                        std::string* sql) {
  if (Status s = MysqlDeleteByKeys(plan, keys, sql); !s.ok()) return s;
  sql->replace(0, std::string_view("DELETE").size(), "SELECT COUNT(*)");
  return Status::Ok();
}

Status MysqlSingle(const TablePlan& plan, const RowChange& c, std::string* sql,
                   std::string* fallback) {
  fallback->clear();
  const size_t width = plan.relation->columns.size();
  switch (c.op) {
    case RowOp::kInsert: {
      return MysqlUpsert(plan, {&c.new_tuple}, PresentColumns(c.new_tuple, width), sql);
    }
    case RowOp::kDelete:
      *sql = "DELETE FROM " + Table(plan);
      return Locate(plan, c, sql);
    case RowOp::kUpdate: {
      std::vector<int> cols = Written(plan, PresentColumns(c.new_tuple, width));
      *sql = "UPDATE " + Table(plan) + " SET ";
      for (size_t i = 0; i < cols.size(); ++i) {
        const TargetColumn& col = plan.target.columns[plan.source_to_target[cols[i]]];
        std::string lit;
        if (Status s = MysqlLiteral(col, c.new_tuple[cols[i]], &lit); !s.ok()) {
          return Status::Error("column " + col.name + ": " + s.message());
        }
        *sql += (i ? ", " : "") + QuoteIdent(col.name) + " = " + lit;
      }
      for (const PlanComputed* rule :
           ComputedFor(plan, RowOp::kUpdate, PresentColumns(c.new_tuple, width))) {
        std::string value;
        if (Status s = ComputedValue(plan, *rule, c.new_tuple, &value); !s.ok()) {
          return Status::Error(rule->label + ": " + s.message());
        }
        *sql += (sql->back() == ' ' ? "" : ", ") + ComputedName(plan, *rule) + " = " + value;
      }
      if (Status s = Locate(plan, c, sql); !s.ok()) return s;
      if (!plan.keyless && UnsentColumns(plan, PresentColumns(c.new_tuple, width)).empty()) {
        return MysqlUpsert(plan, {&c.new_tuple}, PresentColumns(c.new_tuple, width), fallback);
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace stagesync::apply
