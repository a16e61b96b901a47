// The stagesync commands, one function each; command_line.h declares their flags and main()
// dispatches to them.
#pragma once

#include <chrono>
#include <string>

#include "stagesync/config.h"

namespace stagesync::cli {

struct Options {
  std::string config_path;
  bool json = false;
  bool watch = false;
  bool checksum = false;
  bool dry_run = false;
  Duration max_lag{0};  // cutover --max-lag; 0: cutover.max_lag
  Duration timeout = std::chrono::minutes(10);
  int jobs = 0;        // copy --jobs; 0: copy.jobs
  std::string tables;  // copy --tables GLOB
  bool truncate = false;
  bool create_tables = false;
  bool rebuild_indexes = false;
};

int Setup(const Config& config, const Options& options);
int Run(const Config& config, const Options& options);
int Capture(const Config& config, const Options& options);
int Apply(const Config& config, const Options& options);
int StatusCommand(const Config& config, const Options& options);
int Teardown(const Config& config, const Options& options);
int Verify(const Config& config, const Options& options);
int Cutover(const Config& config, const Options& options);
int Copy(const Config& config, const Options& options);

}  // namespace stagesync::cli
