// Command-line surface: --help/--version, and every bad config key is exit 2 with a
// message naming the key (CONTRACT.md "Exit code 2 is always ..."). No server needed:
// config errors must be reported before anything is contacted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

CommandResult Cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {StagesyncBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, "stagesync-cli", 30s);
}

TEST(Cli, version_and_help_exit_0) {
  CommandResult version = Cli({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.Describe();
  EXPECT_NE(version.out.find_first_of("0123456789"), std::string::npos) << version.Describe();
  CommandResult help = Cli({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.Describe();
  for (const char* command : {"setup", "run", "status", "teardown"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command << "\n" << help.Describe();
  }
  for (const char* command : {"setup", "run", "status", "teardown"}) {
    CommandResult r = Cli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_NE(r.out.find("--config"), std::string::npos) << r.Describe();
  }
}

// capture, apply, verify and cutover arrive with issues 3 and 5; they join
// this list (and the one above) when they exist.
TEST(Cli, bad_usage_exits_2) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frobnicate"},
                                             {"setup", "--no-such-flag"},
                                             {"status", "-c", "/nonexistent/stagesync.toml"}}) {
    CommandResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_FALSE(r.err.empty()) << r.Describe();
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"cutover", "--max-lag", "fast", "-c", "x.toml"}, {"cutover", "--timeout"}}) {
    CommandResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_NE(r.err.find("needs a duration such as 500ms"), std::string::npos) << r.Describe();
  }
  CommandResult missing = Cli({"setup", "-c", "/nonexistent/stagesync.toml"});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_NE(missing.err.find("/nonexistent/stagesync.toml"), std::string::npos)
      << missing.Describe();
}

// Issue 11 item 5: a directory as the config, a missing file and durations past any range
// each get a message that says so (a directory read as an empty config and a huge duration
// overflowing to a negative one did not).
TEST(Cli, directory_missing_file_and_huge_durations_say_what_is_wrong) {
  CommandResult dir = Cli({"setup", "-c", ScratchDir()});
  EXPECT_EQ(dir.exit_code, 2) << dir.Describe();
  EXPECT_NE(dir.err.find("is a directory, not a config file"), std::string::npos) << dir.Describe();
  CommandResult missing = Cli({"status", "-c", "/nonexistent/stagesync.toml"});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.Describe();
  for (const char* flag : {"--max-lag", "--timeout"}) {
    CommandResult r = Cli({"cutover", flag, "99999999999999h", "-c", "x.toml"});
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.Describe();
  }
}

// A config that is valid except for the edits of one case. The servers do not exist
// (port 1): a config error must win over a connection error.
constexpr const char* kBaseConfig = R"([source]
kind = "postgres"
dsn = "host=127.0.0.1 port=1 dbname=prod user=postgres"
tables = ["public.*"]
slot = "stagesync_test"
publication = "stagesync_test"

[target]
kind = "postgres"
dsn = "host=127.0.0.1 port=1 dbname=staging user=postgres"

[monitor]
heartbeat_interval = "1s"
)";

struct BadConfigCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> edits;  // replace first with second
  std::string append;                                      // then append this
  std::string must_mention;                                // the key the message names
};

void PrintTo(const BadConfigCase& c, std::ostream* os) {
  *os << c.name;
}

std::string RenderCase(const BadConfigCase& c) {
  std::string text = kBaseConfig;
  for (const auto& [from, to] : c.edits) {
    size_t at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("case " + c.name + ": no " + from);
    text.replace(at, from.size(), to);
  }
  return text + c.append;
}

const std::vector<BadConfigCase>& Cases() {
  static const std::vector<BadConfigCase> cases = {
      {"unknown_source_key", {{"slot = ", "slott = "}}, "", "source.slott"},
      {"unknown_section", {}, "\n[sauce]\nkind = \"postgres\"\n", "sauce"},
      {"unknown_top_level_key", {{"[source]", "verbose = true\n[source]"}}, "", "verbose"},
      {"unknown_monitor_key", {}, "heartbeat = \"1s\"\n", "monitor.heartbeat"},
      {"tables_not_an_array",
       {{R"(tables = ["public.*"])", R"(tables = "public.*")"}},
       "",
       "source.tables"},
      {"server_id_not_an_integer",
       {{"slot = ", "server_id = \"abc\"\nslot = "}},
       "",
       "source.server_id"},
      {"listen_port_past_64_bits",
       {},
       "listen = \"127.0.0.1:99999999999999999999\"\n",
       "monitor.listen"},
      {"listen_port_past_65535", {}, "listen = \"127.0.0.1:99999\"\n", "monitor.listen"},
      {"listen_port_0", {}, "listen = \"127.0.0.1:0\"\n", "monitor.listen"},
      {"listen_port_abc", {}, "listen = \"127.0.0.1:abc\"\n", "monitor.listen"},
      {"heartbeat_not_a_duration", {{R"("1s")", R"("fast")"}}, "", "monitor.heartbeat_interval"},
      {"heartbeat_duration_as_number", {{R"("1s")", "5"}}, "", "monitor.heartbeat_interval"},
      {"max_lag_bad_unit", {}, "\n[cutover]\nmax_lag = \"2 parsecs\"\n", "cutover.max_lag"},
      {"max_lag_out_of_range",
       {},
       "\n[cutover]\nmax_lag = \"99999999999999h\"\n",
       "cutover.max_lag: \"99999999999999h\" is out of range"},
      {"heartbeat_out_of_range",
       {{R"("1s")", R"("99999999999999h")"}},
       "",
       "monitor.heartbeat_interval: \"99999999999999h\" is out of range"},
      {"batch_delay_negative", {}, "\n[apply]\nbatch_delay = \"-5s\"\n", "apply.batch_delay"},
      {"batch_rows_not_an_integer", {}, "\n[apply]\nbatch_rows = \"many\"\n", "apply.batch_rows"},
      {"missing_source_dsn",
       {{"dsn = \"host=127.0.0.1 port=1 dbname=prod user=postgres\"\n", ""}},
       "",
       "source.dsn"},
      {"missing_target_dsn",
       {{"dsn = \"host=127.0.0.1 port=1 dbname=staging user=postgres\"\n", ""}},
       "",
       "target.dsn"},
      {"bad_source_kind", {{"kind = \"postgres\"", "kind = \"oracle\""}}, "", "source.kind"},
      {"bad_transport", {}, "\n[stream]\ntransport = \"carrier-pigeon\"\n", "stream.transport"},
      {"bad_fence", {}, "\n[cutover]\nfence = \"maybe\"\n", "cutover.fence"},
      {"bad_verify", {}, "\n[cutover]\nverify = \"sometimes\"\n", "cutover.verify"},
      {"mapping_not_a_table", {}, "\n[mapping]\n\"public.um_user\" = 5\n", "public.um_user"},
      {"mapping_unknown_key",
       {},
       "\n[mapping]\n\"public.um_user\" = { tabel = \"public.x\" }\n",
       "tabel"},
      {"toml_syntax_error", {{"[target]", "[target"}}, "", "bad_config_toml_syntax_error.toml"},
  };
  return cases;
}

class BadConfig : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfig, bad_config_key_exits_2) {
  const BadConfigCase& c = GetParam();
  std::string path = ScratchDir() + "/bad_config_" + c.name + ".toml";
  WriteFile(path, RenderCase(c));
  for (const char* command : {"setup", "status"}) {
    CommandResult r = RunCommand({StagesyncBinary(), command, "-c", path}, "bad-config", 30s);
    EXPECT_EQ(r.exit_code, 2) << "config:\n" << ReadFile(path) << "\n" << r.Describe();
    EXPECT_NE(r.err.find(c.must_mention), std::string::npos)
        << "stderr should name `" << c.must_mention << "`\nconfig:\n"
        << ReadFile(path) << "\n"
        << r.Describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, BadConfig, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stagesync::testing
