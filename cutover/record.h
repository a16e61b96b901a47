// The last cutover's report, kept on the target (stagesync.cutover) so that `status`, the
// monitor and the dashboard show its progress from any process.
#pragma once

#include <string>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::cutover {

Status WriteCutoverRecord(const Config& config, const std::string& state,
                          const std::string& report_json);
// state and report "" when no cutover has run for this stream.
Status ReadCutoverRecord(const Config& config, std::string* state, std::string* report_json);

}  // namespace stagesync::cutover
