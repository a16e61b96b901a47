// A kill -9 soak through Kafka: capture and apply are each killed with SIGKILL three times,
// alternately, under pgbench and a workload of awkward values, while relations are re-sent
// (ALTER TABLE ADD COLUMN mid-run, and every capture restart). The tables converge, the audit
// shows every pgbench_history row applied exactly once, and every record in Kafka is valid
// JSON under its own table's schema.
#include <rapidjson/document.h>

#include <atomic>
#include <csignal>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "apply_audit.h"
#include "kafka_fixture.h"

namespace stagesync::testing {
namespace {

using KafkaSoakTest = KafkaSyncTest;

constexpr const char* kAwkwardSchema = R"(
  CREATE TABLE awkward (id int PRIMARY KEY, n numeric, f float8, b bytea, t text, j json,
                        arr text[], ts timestamptz, nul int);
)";

// SQL literals per column; row i takes a different mix of them.
const std::vector<std::vector<std::string>>& AwkwardValues() {
  static const std::vector<std::vector<std::string>> values = {
      {"'12345678901234567890.123456789'", "'NaN'", "'-0.000001'", "'Infinity'", "0", "NULL"},
      {"'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'1.7976931348623157e308'", "'4.9e-324'",
       "0.1", "NULL"},
      {R"('\x00ff27')", "''", "decode('deadbeef00', 'hex')", "NULL"},
      {R"('it''s "quoted", \ back\slash')", "'ünïcødé ✓ 😀'", R"(E'tab\there\nnew line')", "''",
       "NULL"},
      {R"('{"a":[1,2,{"b":null}],"s":"q\"u"}')", "'[]'", R"('"just a string"')",
       R"('  {"spaced" : 1 }')", "NULL"},
      {R"(ARRAY['a,b', '"q"', NULL, '{}', 'ü'])", "'{}'", "NULL"},
      {"'2024-02-29 23:59:59.999999+05:30'", "'infinity'", "'-infinity'",
       "'1999-12-31 23:59:59+00'", "NULL"},
      {"NULL", "7", "-2147483648"},
  };
  return values;
}

std::string AwkwardTuple(int i) {
  std::string out = std::to_string(i);
  int column = 0;
  for (const auto& options : AwkwardValues()) {
    out += ", " + options[static_cast<size_t>(i + 3 * column++) % options.size()];
  }
  return out;
}

constexpr const char* kAwkwardColumns = "id, n, f, b, t, j, arr, ts, nul";
constexpr int kResendAt = 120;  // awkward row at which both tables gain a column

// Inserts, updates and deletes awkward rows until `stop`; at row kResendAt adds a column to
// awkward and pgbench_history (staging first, as a migration would), so the source re-sends
// both relations with a new shape in the middle of the run.
void AwkwardWorkload(const PgCluster& source, const PgCluster& target, const std::string& db,
                     const std::atomic<bool>& stop, std::atomic<int>* rows) {
  for (int i = 1; !stop; ++i) {
    if (i == kResendAt) {
      target.Exec(db,
                  "ALTER TABLE awkward ADD COLUMN extra text DEFAULT 'x'; "
                  "ALTER TABLE pgbench_history ADD COLUMN note text");
      source.Exec(db,
                  "ALTER TABLE awkward ADD COLUMN extra text DEFAULT 'x'; "
                  "ALTER TABLE pgbench_history ADD COLUMN note text");
    }
    std::string sql = "INSERT INTO awkward (" + std::string(kAwkwardColumns) + ") VALUES (" +
                      AwkwardTuple(i) + ");";
    if (i % 6 == 0) {
      sql += "UPDATE awkward SET (" + std::string(kAwkwardColumns) + ") = (" +
             AwkwardTuple(i / 2 + 1000000) + ") WHERE id = " + std::to_string(i / 2) + ";";
      sql += "UPDATE awkward SET id = " + std::to_string(i / 2) +
             " WHERE id = " + std::to_string(i / 2 + 1000000) + ";";
    }
    if (i % 5 == 0) sql += "DELETE FROM awkward WHERE id = " + std::to_string(i - 10) + ";";
    if (i >= kResendAt && i % 4 == 0) {
      sql += "UPDATE awkward SET extra = 'e' || id WHERE id = " + std::to_string(i - 1) + ";";
    }
    source.Exec(db, sql);
    rows->store(i);
    std::this_thread::sleep_for(50ms);
  }
}

std::unique_ptr<Process> StartPgbench(const PgCluster& source, const std::string& db, int seconds,
                                      int tps) {
  return std::make_unique<Process>(
      std::vector<std::string>{PgBin("pgbench"), "-h", "127.0.0.1", "-p",
                               std::to_string(source.port()), "-U", "postgres", "-n", "-c", "2",
                               "-j", "1", "-T", std::to_string(seconds), "-R", std::to_string(tps),
                               "--max-tries=10", db},
      "pgbench");
}

void PgbenchInit(const PgCluster& cluster, const std::string& db) {
  CommandResult init =
      RunCommand({PgBin("pgbench"), "-h", "127.0.0.1", "-p", std::to_string(cluster.port()), "-U",
                  "postgres", "-i", "-s", "1", "-q", db},
                 "pgbench-init");
  ASSERT_EQ(init.exit_code, 0) << init.Describe();
  // pgbench_history has no key; an append-only key makes it comparable and auditable.
  cluster.Exec(db, "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY");
}

const std::vector<std::string>& SoakTables() {
  static const std::vector<std::string> tables = {"pgbench_accounts", "pgbench_branches",
                                                  "pgbench_tellers", "pgbench_history", "awkward"};
  return tables;
}

TEST_F(KafkaSoakTest, kafka_kill9_soak_converges_exactly_once) {
  PgbenchInit(source(), db_);
  PgbenchInit(target(), db_);
  OnBoth(kAwkwardSchema);
  InstallApplyAudit(target(), db_, "pgbench_history", "hid");
  UseKafka();
  SetupOrFail();
  capture_ = Start("capture");
  apply_ = Start("apply");

  unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pause_ms(1500, 3500);
  RecordProperty("seed", std::to_string(seed));
  std::cerr << "[kafka soak] seed " << seed << "\n";

  // Sized for the mock cluster (about 5 MB kept per partition): pgbench_branches has one row,
  // so every one of its updates lands on one partition, about 2.5 kB a record with schemas.
  auto pgbench = StartPgbench(source(), db_, 30, 12);
  std::atomic<bool> stop{false};
  std::atomic<int> awkward_rows{0};
  std::thread awkward([&] {
    try {
      AwkwardWorkload(source(), target(), db_, stop, &awkward_rows);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "awkward workload: " << e.what();
    }
  });
  for (int kill = 0; kill < 6; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    std::unique_ptr<Process>& victim = kill % 2 == 0 ? capture_ : apply_;
    const char* name = kill % 2 == 0 ? "capture" : "apply";
    ASSERT_TRUE(victim->Running()) << name << " died on its own before kill " << kill << "\n"
                                   << Logs();
    EXPECT_EQ(victim->Kill(), 128 + SIGKILL);
    std::cerr << "[kafka soak] killed " << name << " #" << kill / 2 << " at awkward row "
              << awkward_rows << "\n";
    if (kill % 4 == 3) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    victim = Start(name);
  }
  auto pgbench_exit = pgbench->Wait(90s);
  stop = true;
  awkward.join();
  ASSERT_TRUE(pgbench_exit.has_value()) << "pgbench did not finish";
  EXPECT_EQ(*pgbench_exit, 0) << pgbench->Stderr();
  ASSERT_GE(awkward_rows.load(), kResendAt) << "the relation re-send never happened";
  ASSERT_GT(
      std::stoi(source().QueryValue(db_, "SELECT count(*) FROM pgbench_history").value_or("0")),
      100)
      << "pgbench did not run:\n"
      << pgbench->Stderr();

  std::vector<TableComparison> tables;
  for (const auto& t : SoakTables()) {
    tables.emplace_back(t, t == "pgbench_accounts"   ? "aid"
                           : t == "pgbench_branches" ? "bid"
                           : t == "pgbench_tellers"  ? "tid"
                           : t == "pgbench_history"  ? "hid"
                                                     : "id");
  }
  EXPECT_TRUE(Converges(tables, 180s)) << Logs();
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "pgbench_history", "hid")) << Logs();
  EXPECT_TRUE(capture_->Running()) << Logs();
  EXPECT_TRUE(apply_->Running()) << Logs();

  // Every record is valid JSON under its own table's schema, and each partition stayed
  // well inside what the mock keeps.
  for (const auto& t : SoakTables()) {
    const std::string topic = db_ + ".public." + t;
    CommandResult read = Kcat({"-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %s\n"});
    ASSERT_EQ(read.exit_code, 0) << read.Describe();
    std::map<std::string, size_t> partition_bytes;
    size_t records = 0;
    std::istringstream lines(read.out);
    for (std::string line; std::getline(lines, line);) {
      size_t space = line.find(' ');
      ASSERT_NE(space, std::string::npos) << topic << ": " << line.substr(0, 300);
      std::string value = line.substr(space + 1);
      partition_bytes[line.substr(0, space)] += value.size();
      if (value.empty()) continue;  // tombstone
      ++records;
      rapidjson::Document doc;
      doc.Parse(value.c_str());
      ASSERT_FALSE(doc.HasParseError()) << topic << ": not JSON: " << value.substr(0, 600);
      ASSERT_TRUE(doc.HasMember("schema") && doc["schema"].HasMember("name")) << value;
      EXPECT_EQ(std::string(doc["schema"]["name"].GetString()), topic + ".Envelope")
          << value.substr(0, 600);
      EXPECT_EQ(std::string(doc["payload"]["source"]["table"].GetString()), t);
    }
    EXPECT_GT(records, 0u) << topic;
    for (const auto& [partition, bytes] : partition_bytes) {
      std::cerr << "[kafka soak] " << topic << "/" << partition << ": " << bytes << " bytes\n";
      EXPECT_LT(bytes, 2u * 1024 * 1024)
          << topic << "/" << partition << " is near the mock's limit";
    }
  }

  capture_->Signal(SIGTERM);
  apply_->Signal(SIGTERM);
  EXPECT_EQ(capture_->Wait(30s), 0) << Logs();
  EXPECT_EQ(apply_->Wait(30s), 0) << Logs();
}

}  // namespace
}  // namespace stagesync::testing
