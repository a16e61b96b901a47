#include "stagesync/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace stagesync {
namespace {

const char* kMinimal = R"(
[source]
dsn = "host=127.0.0.1 port=5432 dbname=prod"
[target]
dsn = "host=127.0.0.1 port=5433 dbname=staging"
)";

TEST(Duration, ParsesContractForms) {
  EXPECT_EQ(ParseDuration("500ms"), Duration(500));
  EXPECT_EQ(ParseDuration("2s"), Duration(2000));
  EXPECT_EQ(ParseDuration("5m"), Duration(300000));
  EXPECT_EQ(ParseDuration("1.5s"), Duration(1500));
  EXPECT_FALSE(ParseDuration("2"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("2 s"));
  EXPECT_FALSE(ParseDuration("fast"));
}

// Past int64 milliseconds llround is undefined: "99999999999999h" came back negative and was
// reported as "must be at least 100ms", or accepted by --max-lag.
TEST(Duration, HugeValuesAreOutOfRangeNeverOverflow) {
  EXPECT_EQ(ParseDuration("8760h"), kMaxDuration);
  for (const char* huge : {"99999999999999h", "8761h", "9223372036854775807ms",
                           "1000000000000000000000000000000000000000000000000000000000000000000000"
                           "000000000000000000000000000000000000000000000000000000000000000000000"
                           "000000000000000000000000000000000000000000000000000000000000000000000"
                           "000000000000000000000000000000000000000000000000000000000000000000000"
                           "000000000000000000000000000000000000000000000000000000s"}) {
    std::string problem;
    EXPECT_FALSE(ParseDuration(huge, &problem)) << huge;
    EXPECT_NE(problem.find("out of range"), std::string::npos) << huge << ": " << problem;
    EXPECT_NE(problem.find("8760h"), std::string::npos) << problem;
  }
  Config c;
  Status s =
      ParseConfig(std::string(kMinimal) + "[monitor]\nheartbeat_interval = \"99999999999999h\"\n",
                  "t.toml", &c);
  EXPECT_EQ(s.exit_code(), kExitUsage);
  EXPECT_NE(s.message().find("monitor.heartbeat_interval: \"99999999999999h\" is out of range"),
            std::string::npos)
      << s.message();
}

TEST(Config, ADirectoryOrAMissingFileIsAUsageErrorSayingSo) {
  Config c;
  Status dir = LoadConfig(::testing::TempDir(), &c);
  EXPECT_EQ(dir.exit_code(), kExitUsage);
  EXPECT_NE(dir.message().find("is a directory, not a config file"), std::string::npos)
      << dir.message();
  Status missing = LoadConfig("/nonexistent/stagesync.toml", &c);
  EXPECT_EQ(missing.exit_code(), kExitUsage);
  EXPECT_NE(missing.message().find("\"/nonexistent/stagesync.toml\": no such file"),
            std::string::npos)
      << missing.message();
}

TEST(Glob, MatchesSchemaTableCaseInsensitively) {
  EXPECT_TRUE(GlobMatch("public.*", "public.um_user"));
  EXPECT_TRUE(GlobMatch("public.UM_*", "public.um_user"));
  EXPECT_TRUE(GlobMatch("*.um_?ser", "app.um_user"));
  EXPECT_FALSE(GlobMatch("public.*", "other.um_user"));
  EXPECT_FALSE(GlobMatch("public.um", "public.um_user"));
}

TEST(Config, MinimalGetsContractDefaults) {
  Config c;
  ASSERT_TRUE(ParseConfig(kMinimal, "t.toml", &c).ok());
  EXPECT_EQ(c.source.slot, "stagesync");
  EXPECT_EQ(c.source.publication, "stagesync");
  EXPECT_EQ(c.source.tables, std::vector<std::string>{"public.*"});
  EXPECT_EQ(c.stream.transport, Transport::kDirect);
  EXPECT_EQ(c.monitor.listen, "127.0.0.1:8321");
  EXPECT_EQ(c.monitor.heartbeat_interval, Duration(1000));
  EXPECT_EQ(c.cutover.max_lag, Duration(2000));
}

TEST(Config, MappingIsKeyedAsWrittenAndFoundCaseInsensitively) {
  Config c;
  std::string text = std::string(kMinimal) + R"(
[mapping]
"public.UM_USER" = { table = "public.um_user", columns = { UM_USER_NAME = "um_username" } }
"public.Orders" = { table = "public.orders_v2" }
"public.orders" = { table = "public.orders_v3" }
)";
  ASSERT_TRUE(ParseConfig(text, "t.toml", &c).ok());
  auto user = FindByName(c.mapping, "public.um_user");
  ASSERT_NE(user, c.mapping.end());
  EXPECT_EQ(user->second.target_table, "public.um_user");
  auto column = FindByName(user->second.columns, "um_user_name");
  ASSERT_NE(column, user->second.columns.end());
  EXPECT_EQ(column->second, "um_username");
  // Namesakes that differ only in case are two entries; each name finds its own.
  EXPECT_EQ(FindByName(c.mapping, "public.Orders")->second.target_table, "public.orders_v2");
  EXPECT_EQ(FindByName(c.mapping, "public.orders")->second.target_table, "public.orders_v3");
}

TEST(Names, ExactFirstThenAsciiCaseOnly) {
  EXPECT_EQ(AsciiLower("ÜnïcödéTÄBLE"), "ÜnïcödétÄble");
  EXPECT_FALSE(AsciiEqualFold("Täble", "tÄBLE"));
  EXPECT_TRUE(AsciiEqualFold("Täble", "täBLE"));
  EXPECT_FALSE(AsciiEqualFold("Ünïcödé", "ünïcödé"));
  std::vector<std::string> columns = {"wert", "Wert", "wërt"};
  auto name = [](const std::string& n) -> const std::string& { return n; };
  EXPECT_EQ(FindName(columns, "Wert", name), 1);
  EXPECT_EQ(FindName(columns, "WERT", name), 0);
  EXPECT_EQ(FindName(columns, "Wërt", name), 2);
  EXPECT_EQ(FindName(columns, "WËRT", name), -1);
  std::vector<std::pair<std::string, std::string>> tables = {
      {"ünïcödé", "täble"}, {"Ünïcödé", "täble"}, {"Ünïcödé", "Täble"}};
  EXPECT_EQ(FindQualifiedName(tables, "Ünïcödé", "Täble"), 2);
  EXPECT_EQ(FindQualifiedName(tables, "Ünïcödé", "TÄBLE"), -1);
  EXPECT_EQ(FindQualifiedName(tables, "Ünïcödé", "TäBLE"), 1);  // exact schema before folded
  EXPECT_EQ(FindQualifiedName(tables, "ÜNïCöDé", "täble"), 1);  // N, C, D fold; Ü does not
  EXPECT_TRUE(GlobMatch("Ünïcödé.*", "Ünïcödé.Täble"));
  EXPECT_FALSE(GlobMatch("Ünïcödé.*", "ünïcödé.täble"));
}

TEST(ListenAddress, SplitsHostAndPort) {
  std::string why;
  auto a = ParseListenAddress("127.0.0.1:8321", &why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8321);
  auto v6 = ParseListenAddress("[::1]:65535", &why);
  ASSERT_TRUE(v6) << why;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  auto any = ParseListenAddress(":1", &why);
  ASSERT_TRUE(any) << why;
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->port, 1);
}

TEST(ListenAddress, OutOfRangePortsSayTheExpectedForm) {
  for (const char* bad : {"127.0.0.1:99999999999999999999", "127.0.0.1:99999", "127.0.0.1:0",
                          "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:+80", "abc", "127.0.0.1:abc"}) {
    std::string why;
    EXPECT_FALSE(ParseListenAddress(bad, &why)) << bad;
    EXPECT_NE(why.find("host:port with a port from 1 to 65535"), std::string::npos) << why;
  }
}

struct BadCase {
  const char* extra;     // appended to the minimal config, or replacing it when it has [source]
  const char* mentions;  // the key the message must name
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsAUsageErrorNamingTheKey) {
  std::string text = GetParam().extra;
  if (text.find("[source]") == std::string::npos) text = std::string(kMinimal) + text;
  Config c;
  Status s = ParseConfig(text, "bad.toml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.exit_code(), kExitUsage);
  EXPECT_NE(s.message().find(GetParam().mentions), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Keys, BadConfig,
    ::testing::Values(
        BadCase{"[monitor]\nheartbeat_interval = \"fast\"\n", "monitor.heartbeat_interval"},
        BadCase{"[monitor]\nheartbeat_interval = \"10ms\"\n", "monitor.heartbeat_interval"},
        BadCase{"[monitor]\nheartbeat_interval = 5\n", "monitor.heartbeat_interval"},
        BadCase{"[monitor]\nlisten = \"nowhere\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"127.0.0.1:99999999999999999999\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"127.0.0.1:99999\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"127.0.0.1:65536\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"127.0.0.1:0\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"127.0.0.1:abc\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisten = \"abc\"\n", "monitor.listen"},
        BadCase{"[monitor]\nlisen = \"127.0.0.1:1\"\n", "monitor.lisen"},
        BadCase{"[stream]\ntransport = \"carrier-pigeon\"\n", "stream.transport"},
        BadCase{"[stream]\ntransport = \"kafka\"\n", "stream.brokers"},
        BadCase{"[cutover]\nfence = \"maybe\"\n", "cutover.fence"},
        BadCase{"[cutover]\nverify = \"yes\"\n", "cutover.verify"},
        BadCase{"[cutover]\nmax_lag = \"soon\"\n", "cutover.max_lag"},
        BadCase{"[cutover]\nfence = \"command\"\n", "cutover.fence_command"},
        BadCase{"[cutover]\nfence = \"command\"\nfence_command = \"x\"\n",
                "cutover.unfence_command"},
        BadCase{"[cutover]\ndrain_timeout = \"eventually\"\n", "cutover.drain_timeout"},
        BadCase{"[apply]\nbatch_rows = 0\n", "apply.batch_rows"},
        BadCase{"[copy]\njobs = 0\n", "copy.jobs"},
        BadCase{"[copy]\npart_bytes = 1\n", "copy.part_bytes"},
        BadCase{"[copy]\nworkers = 2\n", "copy.workers"},
        BadCase{"[copy]\nsnapshot_hold = \"soon\"\n", "copy.snapshot_hold"},
        BadCase{"[surprise]\n", "surprise"},
        BadCase{"[mapping]\n\"um_user\" = { table = \"x\" }\n", "mapping.\"um_user\""},
        BadCase{"[source]\ndsn = \"x\"\nslott = \"a\"\n[target]\ndsn = \"y\"\n", "source.slott"},
        BadCase{"[source]\ndsn = \"x\"\nslot = \"Bad-Slot\"\n[target]\ndsn = \"y\"\n",
                "source.slot"},
        BadCase{"[source]\ndsn = \"x\"\ntables = \"public.*\"\n[target]\ndsn = \"y\"\n",
                "source.tables"},
        BadCase{"[source]\ndsn = \"x\"\ntables = [\"um_user\"]\n[target]\ndsn = \"y\"\n",
                "source.tables"},
        BadCase{"[source]\ndsn = \"x\"\nkind = \"oracle\"\n[target]\ndsn = \"y\"\n", "source.kind"},
        BadCase{
            "[source]\ndsn = \"x\"\npassword_file = \"/nonexistent/pw\"\n[target]\ndsn = \"y\"\n",
            "source.password_file"},
        BadCase{"[source]\ntables = []\n[target]\ndsn = \"y\"\n", "source.dsn"},
        BadCase{"[source]\ndsn = \"x\"\nkind = \"mysql\"\n[target]\ndsn = \"y\"\n", "source.dsn"},
        BadCase{"[source]\ndsn = \"mysql://root@h/db\"\n[target]\ndsn = \"y\"\n", "source.dsn"},
        BadCase{"[mapping]\n\"shop.*\" = { table = \"public.orders\" }\n", "mapping.\"shop.*\""},
        BadCase{"[source]\ndsn = \"x\"\n", "target"}, BadCase{"[source\n", "not valid TOML"},
        // libpq would refuse these at the first connection; the config reader names the key.
        BadCase{"[source]\ndsn = \"host=a\"\n[target]\ndsn = \"host=b prot=5432\"\n",
                "target.dsn: invalid connection option \"prot\""},
        BadCase{"[source]\ndsn = \"host=a\"\n[target]\ndsn = \"host=b dbname='x\"\n",
                "target.dsn: unterminated quoted string"},
        BadCase{"[source]\ndsn = \"host=a\"\n[target]\ndsn = \"postgresql://h/db?prot=1\"\n",
                "target.dsn: invalid URI query parameter"}));

struct RedactCase {
  const char* dsn;
  const char* redacted;
};

class RedactsPasswords : public ::testing::TestWithParam<RedactCase> {};

// Every valid spelling of a password in a dsn (issue 11 item 3), and nothing else touched.
TEST_P(RedactsPasswords, InEverySpelling) {
  EndpointConfig e;
  e.dsn = GetParam().dsn;
  EXPECT_EQ(e.RedactedDsn(), GetParam().redacted);
}

INSTANTIATE_TEST_SUITE_P(
    Dsn, RedactsPasswords,
    ::testing::Values(
        RedactCase{"host=a password=secret user=b", "host=a password=*** user=b"},
        RedactCase{"host=a password = secret user=b", "host=a password = *** user=b"},
        RedactCase{"host=a password= secret", "host=a password= ***"},
        RedactCase{"host=a password =secret", "host=a password =***"},
        RedactCase{"host=a password='sec ret' user=b", "host=a password=*** user=b"},
        RedactCase{"password = 'it\\'s a \\\\ secret' dbname=x", "password = *** dbname=x"},
        RedactCase{"host=a password=sec\\ ret user=b", "host=a password=*** user=b"},
        RedactCase{"host=a password='unterminated secret", "host=a password=***"},
        RedactCase{"host=a password secret", "host=a password ***"},
        RedactCase{"host=a sslpassword=secret", "host=a sslpassword=***"},
        RedactCase{"dbname='host=h password=secret'", "dbname='host=h password=***'"},
        RedactCase{"host=a dbname=prod user=b", "host=a dbname=prod user=b"},
        RedactCase{"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
        RedactCase{"postgres://u:se%40cret@h/db", "postgres://u:***@h/db"},
        RedactCase{"postgresql://u@h/db?password=secret", "postgresql://u@h/db?password=***"},
        RedactCase{"postgresql://u@h/db?sslmode=disable&password=s%20ecret&connect_timeout=5",
                   "postgresql://u@h/db?sslmode=disable&password=***&connect_timeout=5"},
        RedactCase{"postgresql://u:one@h/db?password=two", "postgresql://u:***@h/db?password=***"},
        RedactCase{"postgresql://u:p@ss@h1:5432,h2:5433/db",
                   "postgresql://u:***@h1:5432,h2:5433/db"},
        RedactCase{"mysql://root:secret@127.0.0.1:3306/db", "mysql://root:***@127.0.0.1:3306/db"},
        RedactCase{"mysql://root@127.0.0.1:3306/db?password=secret",
                   "mysql://root@127.0.0.1:3306/db?password=***"},
        RedactCase{"mysql://root@127.0.0.1:3306/db", "mysql://root@127.0.0.1:3306/db"}));

TEST(Config, PasswordFromFileJoinsTheConnectionString) {
  EndpointConfig e;
  e.dsn = "host=a";
  e.password = "it's";
  EXPECT_EQ(e.ConnectionString(), "host=a password='it\\'s'");
  e.dsn = "postgresql://u@h/db";
  e.password = "p@ss word";
  EXPECT_EQ(e.ConnectionString(), "postgresql://u@h/db?password=p%40ss%20word");
}

TEST(Config, UpgradeRulesAreReadFromTheFileBesideTheConfigOrNamedAsMissing) {
  const std::string dir = ::testing::TempDir() + "/stagesync_rules_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/release.toml")
      << "[[rename]]\ntable = \"orders\"\nfrom = \"total\"\nto = \"amount\"\n";
  Config c;
  Status s = ParseConfig(std::string(kMinimal) + "[upgrade]\nrules = \"release.toml\"\n",
                         dir + "/stagesync.toml", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.upgrade.rules.renamed.size(), 1u);
  EXPECT_EQ(c.upgrade.rules.path, dir + "/release.toml");

  s = ParseConfig(std::string(kMinimal) + "[upgrade]\nrules = \"missing.toml\"\n",
                  dir + "/stagesync.toml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("upgrade.rules: cannot read \"missing.toml\""), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace stagesync
