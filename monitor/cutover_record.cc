// Reading the last cutover's report where the cutover left it on the target, for `status`.
// The table is the cutover's (cutover/record.cc creates and writes it); before any cutover it
// does not exist, which is no error.
#include "cutover_record.h"

#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::monitor {

Status ReadCutoverRecord(const Config& config, std::string* state, std::string* report_json) {
  state->clear();
  report_json->clear();
  try {
    if (config.target.kind == Engine::kMysql) {
      auto conn = mysql::Connect(config.target);
      bool exists = !mysql::Query(*conn,
                                  "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                                  "'stagesync' AND TABLE_NAME = 'cutover'")
                         .empty();
      auto rows = exists ? mysql::Query(*conn,
                                        "SELECT state, report FROM stagesync.cutover WHERE "
                                        "stream = " +
                                            mysql::QuoteLiteral(config.source.slot))
                         : mysql::Rows{};
      if (!rows.empty()) {
        *state = rows[0][0];
        *report_json = rows[0][1];
      }
    } else {
      auto conn = pg::Connect(config.target, "stagesync-status");
      pqxx::nontransaction tx(*conn);
      if (tx.exec1("SELECT to_regclass('stagesync.cutover') IS NOT NULL")[0].as<bool>()) {
        auto r = tx.exec_params("SELECT state, report FROM stagesync.cutover WHERE stream = $1",
                                config.source.slot);
        if (!r.empty()) {
          *state = r[0][0].as<std::string>();
          *report_json = r[0][1].as<std::string>();
        }
      }
    }
  } catch (const std::exception& e) {
    return Status::Error("reading the cutover's progress on the target: " + std::string(e.what()));
  }
  return Status::Ok();
}

}  // namespace stagesync::monitor
