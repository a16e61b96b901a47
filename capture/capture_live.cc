// `capture`'s live view (lag, liveness) kept in the source's stagesync schema, for `status`
// and the cutover when capture and apply run apart (transport = "kafka").
#include <cstdio>

#include "stagesync/capture.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::capture {

struct CaptureLiveWriter::Connection {
  std::unique_ptr<pqxx::connection> pg;
  std::unique_ptr<sql::Connection> my;
};

CaptureLiveWriter::CaptureLiveWriter(const Config& config) : config_(config) {}
CaptureLiveWriter::~CaptureLiveWriter() = default;

Status CaptureLiveWriter::Write(double lag_seconds) {
  const bool mysql = config_.source.kind == Engine::kMysql;
  try {
    if (!conn_) {
      auto c = std::make_unique<Connection>();
      if (mysql) {
        c->my = mysql::Connect(config_.source);
      } else {
        c->pg = pg::Connect(config_.source, "stagesync-capture-live");
        // A cutover's fence makes production read-only for new sessions, not for this one.
        pqxx::nontransaction(*c->pg).exec0("SET default_transaction_read_only = off");
      }
      conn_ = std::move(c);
    }
    char lag[32];
    std::snprintf(lag, sizeof lag, "%.6f", lag_seconds);
    if (mysql) {
      mysql::Exec(*conn_->my,
                  "INSERT INTO " + mysql::QualifiedIdent(kSourceSchema, kCaptureLiveTable) +
                      " VALUES (" + mysql::QuoteLiteral(config_.source.slot) + ", " + lag +
                      ", UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE lag_seconds "
                      "= VALUES(lag_seconds), live_at = VALUES(live_at)");
    } else {
      pqxx::nontransaction tx(*conn_->pg);
      tx.exec_params("INSERT INTO " + pg::QualifiedIdent(kSourceSchema, kCaptureLiveTable) +
                         " VALUES ($1, $2, clock_timestamp()) ON CONFLICT (stream) DO UPDATE SET "
                         "lag_seconds = excluded.lag_seconds, live_at = excluded.live_at",
                     config_.source.slot, lag_seconds);
    }
  } catch (const std::exception& e) {
    conn_.reset();
    return Status::Transient(
        "recording capture's lag on the source (run `stagesync setup` if "
        "stagesync." +
        std::string(kCaptureLiveTable) + " is missing): " + e.what());
  }
  return Status::Ok();
}

Status ReadCaptureLive(const Config& config, std::optional<CaptureLive>* out) {
  out->reset();
  try {
    if (config.source.kind == Engine::kMysql) {
      auto conn = mysql::Connect(config.source);
      if (mysql::Query(*conn, "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                                  mysql::QuoteLiteral(kSourceSchema) +
                                  " AND TABLE_NAME = " + mysql::QuoteLiteral(kCaptureLiveTable))
              .empty()) {
        return Status::Ok();
      }
      auto rows = mysql::Query(
          *conn, "SELECT lag_seconds, TIMESTAMPDIFF(MICROSECOND, live_at, UTC_TIMESTAMP(6)) FROM " +
                     mysql::QualifiedIdent(kSourceSchema, kCaptureLiveTable) +
                     " WHERE stream = " + mysql::QuoteLiteral(config.source.slot));
      if (!rows.empty()) *out = CaptureLive{std::stod(rows[0][0]), std::stod(rows[0][1]) / 1e6};
    } else {
      auto conn = pg::Connect(config.source, "stagesync-status");
      pqxx::nontransaction tx(*conn);
      const std::string table = pg::QualifiedIdent(kSourceSchema, kCaptureLiveTable);
      if (!tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", table)[0].as<bool>()) {
        return Status::Ok();
      }
      auto r = tx.exec_params(
          "SELECT lag_seconds, extract(epoch FROM clock_timestamp() - live_at) FROM " + table +
              " WHERE stream = $1",
          config.source.slot);
      if (!r.empty()) *out = CaptureLive{r[0][0].as<double>(), r[0][1].as<double>()};
    }
  } catch (const std::exception& e) {
    return Status::Error(std::string("source: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace stagesync::capture
