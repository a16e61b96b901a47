#include "binlog_connection.h"

#include "stagesync/mysql.h"

namespace stagesync::capture {

Status BinlogConnection::Open(const EndpointConfig& source, const std::string& file,
                              uint32_t offset, uint32_t server_id, bool blocking) {
  mysql::Endpoint e;
  if (Status s = mysql::ParseDsn(source, &e); !s.ok()) return s;
  conn_.reset(mysql_init(nullptr));
  unsigned timeout = 60;
  mysql_options(conn_.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options(conn_.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (!mysql_real_connect(conn_.get(), e.host.c_str(), e.user.c_str(), e.password.c_str(), nullptr,
                          e.port, nullptr, 0)) {
    return Status::Transient("cannot open a binlog connection to " + source.RedactedDsn() + ": " +
                             mysql_error(conn_.get()));
  }
  // Declare what we understand: checksums as the server writes them, MariaDB GTID events,
  // and a heartbeat every 100 ms while idle so a stop request is seen promptly.
  for (const char* q :
       {"SET @master_binlog_checksum = @@global.binlog_checksum",
        "SET @mariadb_slave_capability = 4", "SET @master_heartbeat_period = 100000000"}) {
    if (mysql_query(conn_.get(), q)) return Error("binlog connection");
  }
  rpl_.reset(mariadb_rpl_init(conn_.get()));
  mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_FILENAME, file.c_str(), file.size());
  mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_START, static_cast<unsigned long>(offset));
  mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_SERVER_ID, server_id);
  mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_FLAGS,
                       blocking ? 0 : static_cast<unsigned>(MARIADB_RPL_BINLOG_DUMP_NON_BLOCK));
  if (mariadb_rpl_open(rpl_.get())) {
    return Error("starting the binlog dump at " + file + ":" + std::to_string(offset));
  }
  return Status::Ok();
}

Status BinlogConnection::Error(const std::string& what) const {
  unsigned code = mysql_errno(conn_.get());
  std::string msg = what + ": " + mysql_error(conn_.get());
  if (code == 1236) {  // ER_MASTER_FATAL_ERROR_READING_BINLOG: purged, or a bad position
    return Status::Error(msg +
                         " (the binlog stagesync needs is no longer on the source: the staging "
                         "copy cannot be caught up; copy it again and rerun setup)");
  }
  return Status::Transient(msg);
}

}  // namespace stagesync::capture
