// `verify`: every selected source table against its target table, by row count and, with
// --checksum, row by row in key order, streaming both sides, values normalised so that
// PostgreSQL and MySQL spellings of the same value compare equal.
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>

#include "stagesync/cutover.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::cutover {
namespace {

using Row = std::vector<std::optional<std::string>>;

// What a column's values are, for ordering keys and normalising values across engines.
enum class Kind { kText, kInteger, kDecimal, kFloat4, kFloat8, kJson, kTime };

Kind KindOf(std::string type) {
  type = AsciiLower(type);
  auto is = [&](std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return type == n; });
  };
  if (is({"smallint", "integer", "bigint", "tinyint", "mediumint", "int", "year"})) {
    return Kind::kInteger;
  }
  if (is({"numeric", "decimal"})) return Kind::kDecimal;
  if (is({"real", "float"})) return Kind::kFloat4;
  if (is({"double precision", "double"})) return Kind::kFloat8;
  if (is({"json", "jsonb"})) return Kind::kJson;
  if (type.rfind("time", 0) == 0 && type.find("stamp") == std::string::npos) return Kind::kTime;
  return Kind::kText;
}

// One side of the comparison: an endpoint that lists column types, counts rows and streams
// a table's rows as normalised text in key order.
class Side {
 public:
  virtual ~Side() = default;
  virtual std::map<std::string, std::string> ColumnTypes(const std::string& schema,
                                                         const std::string& table) = 0;
  virtual int64_t Count(const std::string& schema, const std::string& table) = 0;
  // Starts streaming `columns` (with their types) ordered by the first `key_count`.
  virtual void Open(const std::string& schema, const std::string& table,
                    const std::vector<std::pair<std::string, std::string>>& columns,
                    size_t key_count) = 0;
  virtual bool Next(Row* row) = 0;

 protected:
  // The column as normalised text, and the key's ordering term, in this engine's SQL.
  virtual std::string TextOf(const std::string& name, const std::string& type) const = 0;
  virtual std::string OrderOf(const std::string& name, const std::string& text) const = 0;

  void SelectAndOrder(const std::vector<std::pair<std::string, std::string>>& columns,
                      size_t key_count, std::string* select, std::string* order) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& [name, type] = columns[i];
      std::string text = TextOf(name, type);
      *select += (i ? ", " : "") + text;
      if (i < key_count) {
        // Numbers order by value; text by its bytes, the same on both engines.
        *order += (i ? ", " : "") +
                  (KindOf(type) == Kind::kText ? OrderOf(name, text) : OrderOf(name, ""));
      }
    }
  }
};

class PostgresSide : public Side {
 public:
  explicit PostgresSide(const EndpointConfig& endpoint)
      : conn_(pg::Connect(endpoint, "stagesync-verify")) {}

  std::map<std::string, std::string> ColumnTypes(const std::string& schema,
                                                 const std::string& table) override {
    tx_.reset();
    pqxx::read_transaction tx(*conn_);
    std::map<std::string, std::string> out;
    for (const auto& r : tx.exec_params(
             "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
             "$1 AND table_name = $2",
             schema, table)) {
      out[r[0].as<std::string>()] = r[1].as<std::string>();
    }
    return out;
  }
  int64_t Count(const std::string& schema, const std::string& table) override {
    tx_.reset();
    pqxx::read_transaction tx(*conn_);
    return tx.exec1("SELECT count(*) FROM " + pg::QualifiedIdent(schema, table))[0].as<int64_t>();
  }
  void Open(const std::string& schema, const std::string& table,
            const std::vector<std::pair<std::string, std::string>>& columns,
            size_t key_count) override {
    std::string select, order;
    SelectAndOrder(columns, key_count, &select, &order);
    tx_.reset();
    tx_ = std::make_unique<pqxx::work>(*conn_);
    tx_->exec0("DECLARE verify_rows NO SCROLL CURSOR FOR SELECT " + select + " FROM " +
               pg::QualifiedIdent(schema, table) + " AS src ORDER BY " + order);
    buffer_.clear();
    at_ = 0;
    done_ = false;
  }
  std::string TextOf(const std::string& name, const std::string& type) const override {
    const std::string c = pg::QuoteIdent(name), t = AsciiLower(type);
    if (t == "bytea") return "encode(" + c + ", 'hex')";
    if (t.rfind("timestamp", 0) == 0) return "to_char(" + c + ", 'YYYY-MM-DD HH24:MI:SS.US')";
    if (t == "boolean") return c + "::int::text";
    if (t == "bit" || t == "bit varying") return "ltrim(" + c + "::text, '0')";
    return c + "::text";
  }
  std::string OrderOf(const std::string& name, const std::string& text) const override {
    // Qualified: a bare name would order by the text output column of that name.
    return text.empty() ? "src." + pg::QuoteIdent(name) : text + " COLLATE \"C\"";
  }
  bool Next(Row* row) override {
    if (at_ == buffer_.size()) {
      if (done_) return false;
      buffer_.clear();
      at_ = 0;
      for (const auto& r : tx_->exec("FETCH 5000 FROM verify_rows")) {
        Row out;
        for (const auto& f : r) {
          out.push_back(f.is_null() ? std::nullopt
                                    : std::optional<std::string>(std::string(f.c_str(), f.size())));
        }
        buffer_.push_back(std::move(out));
      }
      if (buffer_.size() < 5000) done_ = true;
      if (buffer_.empty()) {
        tx_.reset();
        return false;
      }
    }
    *row = std::move(buffer_[at_++]);
    return true;
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::vector<Row> buffer_;
  size_t at_ = 0;
  bool done_ = false;
};

class MysqlSide : public Side {
 public:
  explicit MysqlSide(const EndpointConfig& endpoint) : conn_(mysql::Connect(endpoint)) {}

  std::map<std::string, std::string> ColumnTypes(const std::string& schema,
                                                 const std::string& table) override {
    std::map<std::string, std::string> out;
    for (auto& r : mysql::Query(*conn_,
                                "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                                "WHERE TABLE_SCHEMA = " +
                                    mysql::QuoteLiteral(schema) +
                                    " AND TABLE_NAME = " + mysql::QuoteLiteral(table))) {
      out[r[0]] = r[1];
    }
    return out;
  }
  int64_t Count(const std::string& schema, const std::string& table) override {
    return std::stoll(
        mysql::Query(*conn_, "SELECT COUNT(*) FROM " + mysql::QualifiedIdent(schema, table))[0][0]);
  }
  void Open(const std::string& schema, const std::string& table,
            const std::vector<std::pair<std::string, std::string>>& columns,
            size_t key_count) override {
    std::string select, order;
    SelectAndOrder(columns, key_count, &select, &order);
    stmt_.reset(conn_->createStatement());
    // Forward-only: the connector streams the rows instead of buffering the table.
    stmt_->setResultSetType(sql::ResultSet::TYPE_FORWARD_ONLY);
    rows_.reset(stmt_->executeQuery("SELECT " + select + " FROM " +
                                    mysql::QualifiedIdent(schema, table) + " ORDER BY " + order));
    width_ = columns.size();
  }
  std::string TextOf(const std::string& name, const std::string& type) const override {
    const std::string c = mysql::QuoteIdent(name), t = AsciiLower(type);
    if (t == "binary" || t == "varbinary" || t.find("blob") != std::string::npos) {
      return "LOWER(HEX(" + c + "))";
    }
    if (t == "datetime" || t == "timestamp") {
      return "DATE_FORMAT(" + c + ", '%Y-%m-%d %H:%i:%s.%f')";
    }
    if (t == "bit") return "TRIM(LEADING '0' FROM BIN(" + c + " + 0))";
    return "CAST(" + c + " AS CHAR)";
  }
  std::string OrderOf(const std::string& name, const std::string& text) const override {
    return text.empty() ? mysql::QuoteIdent(name)
                        : "CONVERT(" + text + " USING utf8mb4) COLLATE utf8mb4_bin";
  }
  bool Next(Row* row) override {
    if (!rows_->next()) return false;
    row->clear();
    for (unsigned i = 1; i <= width_; ++i) {
      row->push_back(rows_->isNull(i)
                         ? std::nullopt
                         : std::optional<std::string>(rows_->getString(i).asStdString()));
    }
    return true;
  }

 private:
  std::unique_ptr<sql::Connection> conn_;
  std::unique_ptr<sql::Statement> stmt_;
  std::unique_ptr<sql::ResultSet> rows_;
  unsigned width_ = 0;
};

std::unique_ptr<Side> OpenSide(const EndpointConfig& endpoint) {
  if (endpoint.kind == Engine::kMysql) return std::make_unique<MysqlSide>(endpoint);
  return std::make_unique<PostgresSide>(endpoint);
}

void CanonicalJson(const rapidjson::Value& v, std::string* out) {
  if (v.IsObject()) {
    std::vector<std::pair<std::string, const rapidjson::Value*>> members;
    for (const auto& m : v.GetObject()) members.emplace_back(m.name.GetString(), &m.value);
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    *out += '{';
    for (size_t i = 0; i < members.size(); ++i) {
      rapidjson::Value name(members[i].first.c_str(), members[i].first.size());
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      name.Accept(w);
      *out += (i ? "," : "") + std::string(sb.GetString()) + ":";
      CanonicalJson(*members[i].second, out);
    }
    *out += '}';
  } else if (v.IsArray()) {
    *out += '[';
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (i) *out += ',';
      CanonicalJson(v[i], out);
    }
    *out += ']';
  } else {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    *out += sb.GetString();
  }
}

// The same value from either engine, spelled one way.
std::string Normalise(Kind kind, const std::string& v) {
  switch (kind) {
    case Kind::kDecimal:
    case Kind::kInteger: {
      std::string s = v;
      if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
      }
      return s == "-0" ? "0" : s;
    }
    case Kind::kFloat4:
    case Kind::kFloat8: {
      char buf[64];
      auto r = kind == Kind::kFloat4
                   ? std::to_chars(buf, buf + sizeof buf, std::strtof(v.c_str(), nullptr))
                   : std::to_chars(buf, buf + sizeof buf, std::strtod(v.c_str(), nullptr));
      return std::string(buf, r.ptr);
    }
    case Kind::kJson: {
      rapidjson::Document d;
      d.Parse(v.c_str(), v.size());
      if (d.HasParseError()) return v;
      std::string out;
      CanonicalJson(d, &out);
      return out;
    }
    case Kind::kTime: {
      std::string s = v;
      if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
      }
      return s;
    }
    case Kind::kText:
      return v;
  }
  return v;
}

// Orders keys as both servers were asked to: numbers by value, text by bytes.
int CompareKeys(const Row& a, const Row& b, const std::vector<Kind>& kinds) {
  for (size_t i = 0; i < kinds.size(); ++i) {
    const std::string& x = a[i].value_or("");
    const std::string& y = b[i].value_or("");
    int c = 0;
    if (kinds[i] == Kind::kText) {
      c = x.compare(y);
    } else {
      long double dx = std::strtold(x.c_str(), nullptr), dy = std::strtold(y.c_str(), nullptr);
      c = dx < dy ? -1 : dx > dy ? 1 : 0;
    }
    if (c) return c < 0 ? -1 : 1;
  }
  return 0;
}

std::string KeyText(const Row& row, const std::vector<std::string>& names) {
  std::string out = "(";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? ", " : "") + names[i] + "=" + row[i].value_or("NULL").substr(0, 64);
  }
  return out + ")";
}

void Checksum(Side& source, Side& target, const TableShape& table,
              const apply::TableCorrespondence& c, TableVerdict* verdict) {
  auto source_types = source.ColumnTypes(table.schema, table.name);
  auto target_types = target.ColumnTypes(c.target_schema, c.target_name);
  // Key columns first, then the rest, each with the kind that normalises both spellings.
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& k : c.key) {
    for (const auto& p : c.columns) {
      if (p.first == k) order.push_back(p);
    }
  }
  for (const auto& p : c.columns) {
    if (std::find(c.key.begin(), c.key.end(), p.first) == c.key.end()) order.push_back(p);
  }
  std::vector<std::pair<std::string, std::string>> source_cols, target_cols;
  std::vector<Kind> kinds;
  std::vector<std::string> names;
  for (const auto& [s, t] : order) {
    Kind ks = KindOf(source_types[s]), kt = KindOf(target_types[t]);
    // A JSON column on either side compares as JSON; a number on either side as a number.
    Kind k = ks == Kind::kJson || kt == Kind::kJson ? Kind::kJson : ks != Kind::kText ? ks : kt;
    kinds.push_back(k);
    names.push_back(s);
    source_cols.emplace_back(s, source_types[s]);
    target_cols.emplace_back(t, target_types[t]);
  }
  std::vector<Kind> key_kinds(kinds.begin(), kinds.begin() + c.key.size());
  source.Open(table.schema, table.name, source_cols, c.key.size());
  target.Open(c.target_schema, c.target_name, target_cols, c.key.size());
  auto normalise = [&](Row* row) {
    for (size_t i = 0; i < row->size(); ++i) {
      if ((*row)[i]) (*row)[i] = Normalise(kinds[i], *(*row)[i]);
    }
  };
  Row a, b;
  bool has_a = source.Next(&a), has_b = target.Next(&b);
  if (has_a) normalise(&a);
  if (has_b) normalise(&b);
  verdict->checksum_equal = true;
  auto note = [&](const std::string& what) {
    verdict->checksum_equal = false;
    if (verdict->differences.size() < 5) verdict->differences.push_back(what);
  };
  const std::vector<std::string> key_names(names.begin(), names.begin() + c.key.size());
  while (has_a || has_b) {
    int cmp = !has_a ? 1 : !has_b ? -1 : CompareKeys(a, b, key_kinds);
    if (cmp < 0) {
      note("only on the source: " + KeyText(a, key_names));
      if ((has_a = source.Next(&a))) normalise(&a);
    } else if (cmp > 0) {
      note("only on the target: " + KeyText(b, key_names));
      if ((has_b = target.Next(&b))) normalise(&b);
    } else {
      for (size_t i = c.key.size(); i < a.size(); ++i) {
        if (a[i] != b[i]) {
          note("differs at " + KeyText(a, key_names) + " in " + names[i] + ": '" +
               a[i].value_or("NULL").substr(0, 80) + "' vs '" +
               b[i].value_or("NULL").substr(0, 80) + "'");
          break;
        }
      }
      if ((has_a = source.Next(&a))) normalise(&a);
      if ((has_b = target.Next(&b))) normalise(&b);
    }
  }
  verdict->checksummed = true;
}

}  // namespace

bool VerifyReport::equal() const {
  return std::all_of(tables.begin(), tables.end(), [](const TableVerdict& t) {
    return t.error.empty() && t.source_rows == t.target_rows &&
           (!t.checksummed || t.checksum_equal);
  });
}

Status Verify(const Config& config, bool checksum, const VerifyProgress& progress,
              VerifyReport* report) {
  capture::SourceCheck check;
  if (Status s = capture::CheckSource(config, &check); !s.ok()) return s;
  std::unique_ptr<Side> source, target;
  try {
    source = OpenSide(config.source);
    target = OpenSide(config.target);
  } catch (const std::exception& e) {
    return Status::Error(std::string("verify: ") + e.what());
  }
  size_t done = 0;
  for (const auto& table : check.tables) {
    if (progress) progress(table.QualifiedName(), done++, check.tables.size());
    TableVerdict v;
    v.source_table = table.QualifiedName();
    std::optional<apply::TableCorrespondence> c;
    if (Status s = apply::ResolveTargetTable(config, table, &c); !s.ok()) return s;
    if (!c) {
      v.error = "no target table (create it, map it in [mapping], or exclude the source table)";
      report->tables.push_back(std::move(v));
      continue;
    }
    v.target_table = c->target_schema + "." + c->target_name;
    try {
      v.source_rows = source->Count(table.schema, table.name);
      v.target_rows = target->Count(c->target_schema, c->target_name);
      if (checksum) {
        if (c->key.empty()) {
          v.note = "no key to compare rows by on the target: counted only";
        } else {
          Checksum(*source, *target, table, *c, &v);
        }
      }
    } catch (const std::exception& e) {
      v.error = e.what();
    }
    report->tables.push_back(std::move(v));
  }
  if (progress) progress("", done, check.tables.size());
  return Status::Ok();
}

}  // namespace stagesync::cutover
