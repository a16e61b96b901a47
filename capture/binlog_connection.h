// A binlog dump connection through libmariadb's mariadb_rpl API: what the MySQL capture and
// status read the source's binlog with.
#pragma once

#include <mysql.h>
// mariadb_rpl.h needs mysql.h first.
#include <mariadb_rpl.h>

#include <memory>
#include <string>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::capture {

class BinlogConnection {
 public:
  // Starts a dump of `file` from `offset` as replica `server_id`. Blocking dumps wait for new
  // events (with a heartbeat every 100 ms while idle); others end at the binlog's end.
  Status Open(const EndpointConfig& source, const std::string& file, uint32_t offset,
              uint32_t server_id, bool blocking);
  // The next event (`reuse`: the previous one, or nullptr); nullptr at the end or on error.
  MARIADB_RPL_EVENT* Fetch(MARIADB_RPL_EVENT* reuse) {
    return mariadb_rpl_fetch(rpl_.get(), reuse);
  }
  bool failed() const { return mysql_errno(conn_.get()) != 0; }
  // The connection's error as a Status: purged binlogs are permanent, the rest transient.
  Status Error(const std::string& what) const;

 private:
  struct MysqlCloser {
    void operator()(MYSQL* m) const { mysql_close(m); }
  };
  struct RplCloser {
    void operator()(MARIADB_RPL* r) const { mariadb_rpl_close(r); }
  };
  std::unique_ptr<MYSQL, MysqlCloser> conn_;
  std::unique_ptr<MARIADB_RPL, RplCloser> rpl_;
};

}  // namespace stagesync::capture
