// verify's sides on PostgreSQL (a cursor in one read transaction, fetched 5000 rows at a time)
// and MySQL (a forward-only result the connector streams), each casting values to the text
// both engines spell alike.
#include "sides.h"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::verify {
namespace {

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

}  // namespace

std::unique_ptr<Side> OpenSide(const EndpointConfig& endpoint) {
  if (endpoint.kind == Engine::kMysql) return std::make_unique<MysqlSide>(endpoint);
  return std::make_unique<PostgresSide>(endpoint);
}

}  // namespace stagesync::verify
