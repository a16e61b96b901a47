// The cutover keeps its report on the target (stagesync.cutover, one row per stream) so that
// `status`, the monitor and the dashboard show its progress from any process; the monitor
// reads it (monitor/cutover_record.h).
#pragma once

#include <memory>
#include <string>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::cutover {

// Writes the report as it changes, on one connection (a cutover writes it after every step,
// several times while production is fenced); the table is created on the first write.
class CutoverRecord {
 public:
  explicit CutoverRecord(const Config& config);
  ~CutoverRecord();
  Status Write(const std::string& state, const std::string& report_json);

 private:
  const Config& config_;
  struct Connection;
  std::unique_ptr<Connection> conn_;
};

}  // namespace stagesync::cutover
