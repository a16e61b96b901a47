// stagesync: change-data-capture from a production database into a migrated staging copy.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "commands.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"
#include "stagesync/status.h"

#ifndef STAGESYNC_VERSION
#define STAGESYNC_VERSION "0.0.0"
#endif

namespace {

using stagesync::kExitOk;
using stagesync::kExitUsage;

struct Command {
  const char* summary;
  const char* flags;  // extra flags this command accepts, for --help
  int (*fn)(const stagesync::Config&, const stagesync::cli::Options&);
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"setup",
       {"check the source and create the publication, slot, heartbeat table and the target's "
        "bookkeeping (idempotent)",
        "", stagesync::cli::Setup}},
      {"run", {"capture and apply in one process until SIGINT/SIGTERM", "", stagesync::cli::Run}},
      {"capture",
       {"source -> Kafka as Debezium-compatible JSON, until SIGINT/SIGTERM", "",
        stagesync::cli::Capture}},
      {"apply", {"Kafka -> target, until SIGINT/SIGTERM", "", stagesync::cli::Apply}},
      {"status",
       {"where the sync stands, read from the databases",
        "  --json          one JSON object (state, lag_seconds, source_bytes_behind, ...)\n"
        "  --watch         redraw every second until interrupted\n",
        stagesync::cli::StatusCommand}},
      {"verify",
       {"compare every selected table, source vs target: row counts, and content with "
        "--checksum; exits 3 on differences",
        "  --checksum      compare every row in key order (values normalised across engines)\n"
        "  --json          one JSON object (equal, tables: rows, checksum, differences)\n",
        stagesync::cli::Verify}},
      {"cutover",
       {"gate on lag, fence production, drain, sync sequences, verify and run switch_command; "
        "any failure unfences production",
        "  --max-lag D     lag to wait for before fencing (default cutover.max_lag)\n"
        "  --timeout D     how long to wait for that lag (default 10m)\n"
        "  --dry-run       every step but the fence and the switch\n"
        "  --json          the report as one JSON object (downtime_seconds, steps)\n",
        stagesync::cli::Cutover}},
      {"teardown",
       {"remove the slot, publication and heartbeat table from the source", "",
        stagesync::cli::Teardown}},
  };
  return commands;
}

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: stagesync COMMAND --config FILE [options]\n\n"
               "Keeps a migrated staging database in sync with production until cutover.\n\n"
               "commands:\n");
  for (const auto& [name, cmd] : Commands())
    std::fprintf(out, "  %-10s %s\n", name.c_str(), cmd.summary);
  std::fprintf(out,
               "\noptions:\n  -c, --config FILE   the TOML configuration (see README)\n"
               "  -v, --verbose       debug logging\n  -h, --help          this help\n"
               "  --version           print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("stagesync %s\n", STAGESYNC_VERSION);
    return kExitOk;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    std::fprintf(stderr, "stagesync: unknown command \"%s\"\n\n", name.c_str());
    PrintUsage(stderr);
    return kExitUsage;
  }
  stagesync::cli::Options options;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: stagesync %s --config FILE [options]\n\n%s.\n\n  -c, --config FILE   the "
          "TOML configuration\n  -v, --verbose       debug logging\n%s",
          name.c_str(), it->second.summary, it->second.flags);
      return kExitOk;
    } else if (arg == "--version") {
      std::printf("stagesync %s\n", STAGESYNC_VERSION);
      return kExitOk;
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "stagesync %s: %s needs a file name\n", name.c_str(), arg.c_str());
        return kExitUsage;
      }
      options.config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      options.config_path = arg.substr(9);
    } else if (arg == "-v" || arg == "--verbose") {
      stagesync::SetLogLevel(stagesync::LogLevel::kDebug);
    } else if (name == "cutover" && arg == "--dry-run") {
      options.dry_run = true;
    } else if (name == "cutover" && (arg == "--max-lag" || arg == "--timeout")) {
      std::string problem;
      auto d = i + 1 < argc ? stagesync::ParseDuration(argv[i + 1], &problem) : std::nullopt;
      if (!d) {
        std::fprintf(stderr, "stagesync cutover: %s needs a duration such as 500ms, 2s or 5m%s%s\n",
                     arg.c_str(), problem.empty() ? "" : ": ", problem.c_str());
        return kExitUsage;
      }
      (arg == "--max-lag" ? options.max_lag : options.timeout) = *d;
      ++i;
    } else if ((name == "status" || name == "verify" || name == "cutover") && arg == "--json") {
      options.json = true;
    } else if (name == "status" && arg == "--watch") {
      options.watch = true;
    } else if (name == "verify" && arg == "--checksum") {
      options.checksum = true;
    } else {
      std::fprintf(stderr, "stagesync %s: unknown option \"%s\" (see stagesync %s --help)\n",
                   name.c_str(), arg.c_str(), name.c_str());
      return kExitUsage;
    }
  }
  if (options.config_path.empty()) {
    std::fprintf(stderr, "stagesync %s: --config FILE is required\n", name.c_str());
    return kExitUsage;
  }
  stagesync::Config config;
  if (auto s = stagesync::LoadConfig(options.config_path, &config); !s.ok()) {
    std::fprintf(stderr, "stagesync %s: %s\n", name.c_str(),
                 stagesync::ScrubSecrets(s.message()).c_str());
    return s.exit_code();
  }
  return it->second.fn(config, options);
}
