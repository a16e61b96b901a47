// The cutover's progress record on the target: created on the first write, upserted after
// every change of the report (monitor/cutover_record.cc reads it).
#include "record.h"

#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::cutover {
namespace {

// Created here rather than by setup's bookkeeping so that targets set up before cutover
// existed need nothing new.
constexpr const char* kPostgresTable =
    "CREATE TABLE IF NOT EXISTS stagesync.cutover (stream text PRIMARY KEY, state text NOT NULL, "
    "report text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())";
constexpr const char* kMysqlTable =
    "CREATE TABLE IF NOT EXISTS stagesync.cutover (stream VARCHAR(64) PRIMARY KEY, state "
    "VARCHAR(32) NOT NULL, report MEDIUMTEXT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT "
    "CURRENT_TIMESTAMP(6)) ENGINE=InnoDB";

}  // namespace

struct CutoverRecord::Connection {
  std::unique_ptr<pqxx::connection> pg;
  std::unique_ptr<sql::Connection> my;
};

CutoverRecord::CutoverRecord(const Config& config) : config_(config) {}
CutoverRecord::~CutoverRecord() = default;

Status CutoverRecord::Write(const std::string& state, const std::string& report_json) {
  try {
    if (!conn_) {
      auto c = std::make_unique<Connection>();
      if (config_.target.kind == Engine::kMysql) {
        c->my = mysql::Connect(config_.target);
        mysql::Exec(*c->my, kMysqlTable);
      } else {
        c->pg = pg::Connect(config_.target, "stagesync-cutover");
        pqxx::nontransaction(*c->pg).exec0(std::string("SET client_min_messages = warning; ") +
                                           kPostgresTable);
      }
      conn_ = std::move(c);
    }
    if (conn_->my) {
      mysql::Exec(*conn_->my, "INSERT INTO stagesync.cutover (stream, state, report) VALUES (" +
                                  mysql::QuoteLiteral(config_.source.slot) + ", " +
                                  mysql::QuoteLiteral(state) + ", " +
                                  mysql::QuoteLiteral(report_json) +
                                  ") ON DUPLICATE KEY UPDATE state = VALUES(state), report = "
                                  "VALUES(report), updated_at = NOW(6)");
    } else {
      pqxx::nontransaction tx(*conn_->pg);
      tx.exec_params(
          "INSERT INTO stagesync.cutover (stream, state, report) VALUES ($1, $2, $3) ON CONFLICT "
          "(stream) DO UPDATE SET state = excluded.state, report = excluded.report, updated_at = "
          "now()",
          config_.source.slot, state, report_json);
    }
  } catch (const std::exception& e) {
    conn_.reset();  // the next write reconnects
    return Status::Error("recording the cutover's progress on the target: " +
                         std::string(e.what()));
  }
  return Status::Ok();
}

}  // namespace stagesync::cutover
