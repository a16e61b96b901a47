// The command table is the one place flags are declared: every declared flag parses for its
// command and shows in its help, and no other command takes it.
#include "command_line.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace stagesync::cli {
namespace {

TEST(CommandLine, every_declared_flag_parses_and_is_in_its_help) {
  for (const auto& [name, command] : Commands()) {
    std::string help = CommandHelp(name, command);
    for (const Flag& flag : command.flags) {
      std::vector<std::string> args = {name, flag.name};
      if (std::holds_alternative<Duration Options::*>(flag.target)) args.push_back("3s");
      if (std::holds_alternative<int Options::*>(flag.target)) args.push_back("4");
      if (std::holds_alternative<std::string Options::*>(flag.target)) args.push_back("public.*");
      args.insert(args.end(), {"-c", "x.toml"});
      CommandLine line = ParseCommandLine(args);
      EXPECT_EQ(line.command, &command) << name << " " << flag.name << ": " << line.err;
      EXPECT_NE(help.find(std::string("  ") + flag.name + " "), std::string::npos)
          << name << " " << flag.name << "\n"
          << help;
    }
  }
}

TEST(CommandLine, a_flag_is_refused_by_the_commands_that_do_not_declare_it) {
  std::set<std::string> all_flags;
  for (const auto& [name, command] : Commands()) {
    for (const Flag& flag : command.flags) all_flags.insert(flag.name);
  }
  for (const auto& [name, command] : Commands()) {
    for (const std::string& flag : all_flags) {
      bool declared = false;
      for (const Flag& f : command.flags) declared = declared || flag == f.name;
      if (declared) continue;
      CommandLine line = ParseCommandLine({name, flag, "-c", "x.toml"});
      EXPECT_EQ(line.command, nullptr) << name << " " << flag;
      EXPECT_EQ(line.exit_code, kExitUsage) << name << " " << flag;
      EXPECT_EQ(line.err, "stagesync " + name + ": unknown option \"" + flag +
                              "\" (see stagesync " + name + " --help)\n");
    }
  }
}

TEST(CommandLine, flags_set_their_options) {
  CommandLine line = ParseCommandLine(
      {"cutover", "--max-lag", "500ms", "--timeout", "5m", "--dry-run", "--json", "-c", "x.toml"});
  ASSERT_NE(line.command, nullptr) << line.err;
  EXPECT_EQ(line.options.max_lag, std::chrono::milliseconds(500));
  EXPECT_EQ(line.options.timeout, std::chrono::minutes(5));
  EXPECT_TRUE(line.options.dry_run);
  EXPECT_TRUE(line.options.json);
  EXPECT_FALSE(line.options.watch);
  EXPECT_EQ(line.options.config_path, "x.toml");

  line = ParseCommandLine({"status", "--config=y.toml", "--watch", "-v"});
  ASSERT_NE(line.command, nullptr) << line.err;
  EXPECT_TRUE(line.options.watch);
  EXPECT_FALSE(line.options.json);
  EXPECT_TRUE(line.verbose);
  EXPECT_EQ(line.options.config_path, "y.toml");
}

TEST(CommandLine, bad_usage_says_what_is_missing) {
  CommandLine line = ParseCommandLine({"cutover", "--timeout"});
  EXPECT_EQ(line.exit_code, kExitUsage);
  EXPECT_EQ(line.err, "stagesync cutover: --timeout needs a duration such as 500ms, 2s or 5m\n");
  line = ParseCommandLine({"verify", "--checksum"});
  EXPECT_EQ(line.exit_code, kExitUsage);
  EXPECT_EQ(line.err, "stagesync verify: --config FILE is required\n");
  line = ParseCommandLine({"setup", "-c"});
  EXPECT_EQ(line.err, "stagesync setup: -c needs a file name\n");
  line = ParseCommandLine({"frobnicate"});
  EXPECT_EQ(line.exit_code, kExitUsage);
  EXPECT_EQ(line.err.rfind("stagesync: unknown command \"frobnicate\"\n\nusage:", 0), 0u);
  line = ParseCommandLine({});
  EXPECT_EQ(line.exit_code, kExitUsage);
  EXPECT_EQ(line.err, UsageText());
}

// The help texts as they read before the table existed: scripts and docs quote them.
TEST(CommandLine, help_reads_as_before) {
  CommandLine line = ParseCommandLine({"cutover", "--help"});
  EXPECT_EQ(line.exit_code, kExitOk);
  EXPECT_EQ(line.out,
            "usage: stagesync cutover --config FILE [options]\n\n"
            "gate on lag, fence production, drain, sync sequences, verify and run "
            "switch_command; any failure unfences production.\n\n"
            "  -c, --config FILE   the TOML configuration\n"
            "  -v, --verbose       debug logging\n"
            "  --max-lag D     lag to wait for before fencing (default cutover.max_lag)\n"
            "  --timeout D     how long to wait for that lag (default 10m)\n"
            "  --dry-run       every step but the fence and the switch\n"
            "  --json          the report as one JSON object (downtime_seconds, steps)\n");
  line = ParseCommandLine({"status", "-h"});
  EXPECT_EQ(line.out,
            "usage: stagesync status --config FILE [options]\n\n"
            "where the sync stands, read from the databases.\n\n"
            "  -c, --config FILE   the TOML configuration\n"
            "  -v, --verbose       debug logging\n"
            "  --json          one JSON object (state, lag_seconds, source_bytes_behind, ...)\n"
            "  --watch         redraw every second until interrupted\n");
  std::string usage = UsageText();
  EXPECT_EQ(usage.rfind("usage: stagesync COMMAND --config FILE [options]\n\n", 0), 0u);
  EXPECT_NE(usage.find("\n  apply      Kafka -> target, until SIGINT/SIGTERM\n  capture    "),
            std::string::npos)
      << usage;
}

}  // namespace
TEST(CommandLine, copy_takes_a_count_of_jobs_and_a_glob) {
  CommandLine line = ParseCommandLine(
      {"copy", "--jobs", "4", "--tables", "public.um_*", "--truncate", "-c", "x.toml"});
  ASSERT_NE(line.command, nullptr) << line.err;
  EXPECT_EQ(line.options.jobs, 4);
  EXPECT_EQ(line.options.tables, "public.um_*");
  EXPECT_TRUE(line.options.truncate);
  for (const char* bad : {"0", "65", "two", "-1"}) {
    line = ParseCommandLine({"copy", "--jobs", bad, "-c", "x.toml"});
    EXPECT_EQ(line.exit_code, kExitUsage) << bad;
    EXPECT_EQ(line.err, "stagesync copy: --jobs needs a number from 1 to 64\n") << bad;
  }
  line = ParseCommandLine({"copy", "--tables"});
  EXPECT_EQ(line.err, "stagesync copy: --tables needs a value\n");
}

}  // namespace stagesync::cli
