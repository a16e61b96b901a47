// The last cutover's report as the cutover recorded it on the target (stagesync.cutover, one
// row per stream), so that `status`, the monitor and the dashboard show its progress from any
// process.
#pragma once

#include <string>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::monitor {

// The recorded state (running | fenced | failed | done | dry_run_done) and report JSON; both
// "" when no cutover has run for this stream.
Status ReadCutoverRecord(const Config& config, std::string* state, std::string* report_json);

}  // namespace stagesync::monitor
