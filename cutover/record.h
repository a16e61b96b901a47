// The last cutover's report, kept on the target (stagesync.cutover) so that `status`, the
// monitor and the dashboard show its progress from any process.
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

// state and report "" when no cutover has run for this stream.
Status ReadCutoverRecord(const Config& config, std::string* state, std::string* report_json);

}  // namespace stagesync::cutover
