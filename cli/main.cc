// stagesync: change-data-capture from a production database into a migrated staging copy.
#include <cstdio>
#include <string>
#include <vector>

#include "command_line.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"

int main(int argc, char** argv) {
  using stagesync::cli::CommandLine;
  CommandLine line =
      stagesync::cli::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!line.command) {
    std::fputs(line.out.c_str(), stdout);
    std::fputs(line.err.c_str(), stderr);
    return line.exit_code;
  }
  if (line.verbose) stagesync::SetLogLevel(stagesync::LogLevel::kDebug);
  stagesync::Config config;
  if (auto s = stagesync::LoadConfig(line.options.config_path, &config); !s.ok()) {
    std::fprintf(stderr, "stagesync %s: %s\n", line.name.c_str(),
                 stagesync::ScrubSecrets(s.message()).c_str());
    return s.exit_code();
  }
  return line.command->run(config, line.options);
}
