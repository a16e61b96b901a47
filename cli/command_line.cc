// Parsing and help texts, both from the one table of commands and their flags.
#include "command_line.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#ifndef STAGESYNC_VERSION
#define STAGESYNC_VERSION "0.0.0"
#endif

namespace stagesync::cli {
namespace {

// How the flag's argument is shown in the help ("" for a switch).
const char* Argument(const Flag& flag) {
  if (std::holds_alternative<Duration Options::*>(flag.target)) return " D";
  if (std::holds_alternative<int Options::*>(flag.target)) return " N";
  if (std::holds_alternative<std::string Options::*>(flag.target)) return " GLOB";
  return "";
}

std::string VersionText() {
  return std::string("stagesync ") + STAGESYNC_VERSION + "\n";
}

CommandLine Exit(int exit_code, std::string out, std::string err) {
  CommandLine line;
  line.exit_code = exit_code;
  line.out = std::move(out);
  line.err = std::move(err);
  return line;
}

}  // namespace

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"setup",
       {"check the source and create the publication, slot, heartbeat table and the target's "
        "bookkeeping (idempotent)",
        {},
        Setup}},
      {"run", {"capture and apply in one process until SIGINT/SIGTERM", {}, Run}},
      {"capture",
       {"source -> Kafka as Debezium-compatible JSON, until SIGINT/SIGTERM", {}, Capture}},
      {"apply", {"Kafka -> target, until SIGINT/SIGTERM", {}, Apply}},
      {"status",
       {"where the sync stands, read from the databases",
        {{"--json", &Options::json,
          "one JSON object (state, lag_seconds, source_bytes_behind, ...)"},
         {"--watch", &Options::watch, "redraw every second until interrupted"}},
        StatusCommand}},
      {"verify",
       {"compare every selected table, source vs target: row counts, and content with "
        "--checksum; exits 3 on differences",
        {{"--checksum", &Options::checksum,
          "compare every row in key order (values normalised across engines)"},
         {"--json", &Options::json,
          "one JSON object (equal, tables: rows, checksum, differences)"}},
        Verify}},
      {"cutover",
       {"gate on lag, fence production, drain, sync sequences, verify and run switch_command; "
        "any failure unfences production",
        {{"--max-lag", &Options::max_lag,
          "lag to wait for before fencing (default cutover.max_lag)"},
         {"--timeout", &Options::timeout, "how long to wait for that lag (default 10m)"},
         {"--dry-run", &Options::dry_run, "every step but the fence and the switch"},
         {"--json", &Options::json, "the report as one JSON object (downtime_seconds, steps)"}},
        Cutover}},
      {"copy",
       {"the initial copy of every selected table into the target, from a snapshot taken where "
        "the stream starts; resumes after a crash",
        {{"--jobs", &Options::jobs, "tables (or parts of one) copied at once (default copy.jobs)"},
         {"--tables", &Options::tables, "only the selected tables matching GLOB (schema.table)"},
         {"--truncate", &Options::truncate,
          "empty the target tables first and copy afresh from a new snapshot"},
         {"--create-tables", &Options::create_tables,
          "create missing target tables from the source's definitions (across engines through "
          "the type map); says what it could not translate"},
         {"--rebuild-indexes", &Options::rebuild_indexes,
          "drop the target tables' secondary indexes and foreign keys for the data, and "
          "re-create them after it in parallel"},
         {"--json", &Options::json, "progress and the result as JSON lines on stdout"}},
        Copy}},
      {"teardown",
       {"remove the slot, publication and heartbeat table from the source", {}, Teardown}},
  };
  return commands;
}

std::string UsageText() {
  std::string text =
      "usage: stagesync COMMAND --config FILE [options]\n\n"
      "Keeps a migrated staging database in sync with production until cutover.\n\n"
      "commands:\n";
  char line[512];
  for (const auto& [name, command] : Commands()) {
    std::snprintf(line, sizeof line, "  %-10s %s\n", name.c_str(), command.summary);
    text += line;
  }
  return text +
         "\noptions:\n  -c, --config FILE   the TOML configuration (see README)\n"
         "  -v, --verbose       debug logging\n  -h, --help          this help\n"
         "  --version           print the version\n";
}

std::string CommandHelp(const std::string& name, const Command& command) {
  std::string text = "usage: stagesync " + name + " --config FILE [options]\n\n" + command.summary +
                     ".\n\n  -c, --config FILE   the TOML configuration\n"
                     "  -v, --verbose       debug logging\n";
  char line[512];
  for (const Flag& flag : command.flags) {
    std::string spelled = std::string(flag.name) + Argument(flag);
    std::snprintf(line, sizeof line, "  %-15s %s\n", spelled.c_str(), flag.help);
    text += line;
  }
  return text;
}

CommandLine ParseCommandLine(const std::vector<std::string>& args) {
  if (args.empty()) return Exit(kExitUsage, "", UsageText());
  const std::string& name = args[0];
  if (name == "--version" || name == "version") return Exit(kExitOk, VersionText(), "");
  if (name == "--help" || name == "-h" || name == "help") return Exit(kExitOk, UsageText(), "");
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    return Exit(kExitUsage, "", "stagesync: unknown command \"" + name + "\"\n\n" + UsageText());
  }
  const Command& command = it->second;
  const std::string prefix = "stagesync " + name + ": ";
  CommandLine line;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto flag = std::find_if(command.flags.begin(), command.flags.end(),
                             [&](const Flag& f) { return arg == f.name; });
    if (arg == "-h" || arg == "--help") {
      return Exit(kExitOk, CommandHelp(name, command), "");
    } else if (arg == "--version") {
      return Exit(kExitOk, VersionText(), "");
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= args.size()) return Exit(kExitUsage, "", prefix + arg + " needs a file name\n");
      line.options.config_path = args[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      line.options.config_path = arg.substr(9);
    } else if (arg == "-v" || arg == "--verbose") {
      line.verbose = true;
    } else if (flag == command.flags.end()) {
      return Exit(kExitUsage, "",
                  prefix + "unknown option \"" + arg + "\" (see stagesync " + name + " --help)\n");
    } else if (auto toggle = std::get_if<bool Options::*>(&flag->target)) {
      line.options.*(*toggle) = true;
    } else if (auto text = std::get_if<std::string Options::*>(&flag->target)) {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        return Exit(kExitUsage, "", prefix + arg + " needs a value\n");
      }
      line.options.*(*text) = args[++i];
    } else if (auto count = std::get_if<int Options::*>(&flag->target)) {
      const std::string value = i + 1 < args.size() ? args[i + 1] : "";
      bool digits = !value.empty() && value.size() <= 3 &&
                    value.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stoi(value) < 1 || std::stoi(value) > 64) {
        return Exit(kExitUsage, "", prefix + arg + " needs a number from 1 to 64\n");
      }
      line.options.*(*count) = std::stoi(value);
      ++i;
    } else {
      std::string problem;
      auto d = i + 1 < args.size() ? ParseDuration(args[i + 1], &problem) : std::nullopt;
      if (!d) {
        return Exit(kExitUsage, "",
                    prefix + arg + " needs a duration such as 500ms, 2s or 5m" +
                        (problem.empty() ? "" : ": ") + problem + "\n");
      }
      line.options.*std::get<Duration Options::*>(flag->target) = *d;
      ++i;
    }
  }
  if (line.options.config_path.empty()) {
    return Exit(kExitUsage, "", prefix + "--config FILE is required\n");
  }
  line.command = &command;
  line.name = name;
  return line;
}

}  // namespace stagesync::cli
