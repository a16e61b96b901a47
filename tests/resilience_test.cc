// Crashes, clean stops and restores: every committed change arrives exactly once, whatever
// happens to the `run` process or to staging.
#include <signal.h>

#include <random>
#include <thread>

#include "apply_audit.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using ResilienceTest = SyncTest;

constexpr const char* kWorkloadSchema = R"(
  CREATE TABLE kv(id int PRIMARY KEY, v bigint NOT NULL, note text, touched int DEFAULT 0);
  CREATE TABLE ledger(id bigserial PRIMARY KEY, kv_id int, amount numeric(12,2), memo text);
)";

// Small transactions touching rows in ascending key order (few deadlocks), and now and
// then a larger one.
constexpr const char* kSmallTransaction = R"(\set id random(1, 3000)
\set amt random(-100000, 100000)
BEGIN;
INSERT INTO kv(id, v, note) VALUES (:id, :amt, md5(random()::text))
  ON CONFLICT (id) DO UPDATE SET v = kv.v + EXCLUDED.v, note = md5(kv.note);
UPDATE kv SET v = v + 1, touched = touched + 1 WHERE id = :id + 1;
DELETE FROM kv WHERE id = :id + 7;
INSERT INTO ledger(kv_id, amount, memo) VALUES (:id, :amt / 100.0, 'tx ' || :id);
END;
)";
constexpr const char* kLargeTransaction = R"(\set id random(1, 3000)
BEGIN;
UPDATE kv SET touched = touched + 1 WHERE id BETWEEN :id AND :id + 300;
INSERT INTO ledger(kv_id, amount, memo) SELECT i, i, 'bulk' FROM generate_series(1, 500) i;
END;
)";

const std::vector<TableComparison>& WorkloadTables() {
  static const std::vector<TableComparison> tables = {{"kv", "id"}, {"ledger", "id"}};
  return tables;
}

// pgbench against the source database for `seconds` at about `tps` transactions/s.
std::unique_ptr<Process> StartWorkload(const PgCluster& source, const std::string& db, int seconds,
                                       int tps) {
  std::string small = ScratchDir() + "/" + db + "-small.sql";
  std::string large = ScratchDir() + "/" + db + "-large.sql";
  WriteFile(small, kSmallTransaction);
  WriteFile(large, kLargeTransaction);
  return std::make_unique<Process>(std::vector<std::string>{PgBin("pgbench"),
                                                            "-h",
                                                            "127.0.0.1",
                                                            "-p",
                                                            std::to_string(source.port()),
                                                            "-U",
                                                            "postgres",
                                                            "-n",
                                                            "-c",
                                                            "3",
                                                            "-j",
                                                            "1",
                                                            "-T",
                                                            std::to_string(seconds),
                                                            "-R",
                                                            std::to_string(tps),
                                                            "--max-tries=10",
                                                            "-f",
                                                            small + "@30",
                                                            "-f",
                                                            large + "@1",
                                                            db},
                                   "pgbench");
}

TEST_F(ResilienceTest, kill9_restart_loses_nothing) {
  OnBoth(kWorkloadSchema);
  // The ledger is append-only: each source row must be applied exactly once.
  InstallApplyAudit(target(), db_, "ledger", "id");
  OnSource("INSERT INTO kv SELECT i, i, 'seed' FROM generate_series(1, 3000, 3) i");
  OnTarget("INSERT INTO kv SELECT i, i, 'seed' FROM generate_series(1, 3000, 3) i");
  SetupOrFail();
  unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pause_ms(300, 2500);
  RecordProperty("seed", std::to_string(seed));
  std::cerr << "[kill9] seed " << seed << "\n";

  auto workload = StartWorkload(source(), db_, 14, 250);
  StartRun();
  for (int kill = 0; kill < 5; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    ASSERT_TRUE(run_->Running()) << "run died on its own before kill " << kill << "\n" << RunLog();
    EXPECT_EQ(run_->Kill(), 128 + SIGKILL);
    std::cerr << "[kill9] killed run #" << kill << "\n";
    // Sometimes restart at once (slot may still look active), sometimes after a while.
    if (kill % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    StartRun();
  }
  auto workload_exit = workload->Wait(90s);
  ASSERT_TRUE(workload_exit.has_value()) << "pgbench did not finish";
  std::string summary = workload->Stdout();
  size_t processed = summary.find("number of transactions actually processed");
  std::cerr << "[kill9] pgbench exit " << *workload_exit << ": "
            << summary.substr(processed == std::string::npos ? 0 : processed,
                              summary.find('\n', processed) - processed)
            << "\n";
  ASSERT_GT(std::stoi(source().QueryValue(db_, "SELECT count(*) FROM ledger").value_or("0")), 500)
      << "the workload did not run:\n"
      << workload->Stderr();

  ASSERT_TRUE(Converges(WorkloadTables(), 240s));
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id"));
  run_->Signal(SIGTERM);
  EXPECT_EQ(run_->Wait(30s), 0) << RunLog();
  // A clean restart replays nothing twice and keeps going.
  StartRun();
  OnSource(
      "UPDATE kv SET v = -v WHERE id % 10 = 0; DELETE FROM kv WHERE id % 10 = 1; "
      "INSERT INTO ledger(kv_id, amount, memo) VALUES (1, 1, 'after the restart')");
  EXPECT_TRUE(Converges(WorkloadTables(), 120s));
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id"));
}

TEST_F(ResilienceTest, replay_from_backup_converges) {
  OnBoth(kWorkloadSchema);
  // Production data from before setup: staging gets it from the backup only.
  OnSource("INSERT INTO kv SELECT i, i, 'old' FROM generate_series(1, 100) i");
  SetupOrFail();
  // Part 1: streamed changes that the backup will already contain, or already lack.
  OnSource(R"(INSERT INTO kv SELECT i, i * 10, 'part1' FROM generate_series(101, 300) i;
              UPDATE kv SET v = v + 1, note = 'updated in part1' WHERE id % 3 = 0;
              UPDATE kv SET note = 'updated then deleted' WHERE id BETWEEN 40 AND 60;
              DELETE FROM kv WHERE id BETWEEN 40 AND 60;
              DELETE FROM kv WHERE id BETWEEN 250 AND 260;
              INSERT INTO kv VALUES (255, -255, 'reinserted');
              INSERT INTO ledger(kv_id, amount, memo)
                SELECT i, i, 'part1' FROM generate_series(1, 200) i;)");
  // Staging is restored from a backup taken now (after setup): a data-only dump.
  std::string dump = ScratchDir() + "/" + db_ + "-backup.sql";
  CommandResult dumped =
      RunCommand({PgBin("pg_dump"), "-h", "127.0.0.1", "-p", std::to_string(source().port()), "-U",
                  "postgres", "--data-only", "-t", "public.kv", "-t", "public.ledger", "-t",
                  "public.ledger_id_seq", "-f", dump, db_},
                 "pg_dump");
  ASSERT_EQ(dumped.exit_code, 0) << dumped.Describe();
  CommandResult restored =
      RunCommand({PgBin("psql"), "-h", "127.0.0.1", "-p", std::to_string(target().port()), "-U",
                  "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_, "-f", dump},
                 "psql-restore");
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  // Part 2: changes after the backup, including ones on rows part 1 changed.
  OnSource(R"(UPDATE kv SET v = 0, note = 'part2' WHERE id % 5 = 0;
              DELETE FROM kv WHERE id BETWEEN 280 AND 290;
              INSERT INTO kv VALUES (45, 45, 'back in part2');
              DELETE FROM ledger WHERE id % 7 = 0;
              INSERT INTO ledger(kv_id, amount, memo) VALUES (1, 1.5, 'part2');)");
  StartRun();
  EXPECT_TRUE(Converges(WorkloadTables()));
}

TEST_F(ResilienceTest, sigterm_stops_cleanly) {
  OnBoth(kWorkloadSchema);
  InstallApplyAudit(target(), db_, "ledger", "id");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO kv SELECT i, i, 'a' FROM generate_series(1, 100) i");
  ASSERT_TRUE(Converges(WorkloadTables()));
  run_->Signal(SIGTERM);
  EXPECT_EQ(run_->Wait(30s), 0) << RunLog();
  EXPECT_EQ(source().QueryValue(
                db_, "SELECT active FROM pg_replication_slots WHERE slot_name = '" + db_ + "'"),
            "f")
      << "the slot should be released after a clean stop";

  // SIGINT too; and a stop in the middle of a big transaction. It is twice what run buffers
  // between capture and apply (64 MB), so once apply writes its rows the source is still
  // sending it, and the stop cannot wait for its commit.
  StartRun();
  OnSource(
      "INSERT INTO ledger(kv_id, amount, memo) "
      "SELECT i, i, repeat('m', 3000) FROM generate_series(1, 40000) i");
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (AuditAttempts(target(), db_) == 0 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(run_->Running()) << RunLog();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(AuditAttempts(target(), db_), 0u) << "apply never wrote the big transaction\n"
                                              << RunLog();
  run_->Signal(SIGINT);
  EXPECT_EQ(run_->Wait(60s), 0) << RunLog();
  // It stopped inside the transaction: apply had written some of its rows (counted by the
  // audit's sequence) and rolled them all back (none of the audit's records is kept).
  EXPECT_EQ(AuditedRows(target(), db_, "ledger"), 0u) << "the big transaction was committed";
  EXPECT_NE(run_->Stderr().find("stopping inside a source transaction"), std::string::npos)
      << RunLog();
  const uint64_t written_before_stop = AuditAttempts(target(), db_);

  // Changes made while stopped arrive after the restart, nothing twice.
  OnSource("UPDATE kv SET v = v * 2 WHERE id <= 50; DELETE FROM kv WHERE id > 90");
  StartRun();
  EXPECT_TRUE(Converges(WorkloadTables(), 240s));
  // Applied again whole after the restart, each row once.
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id"));
  EXPECT_EQ(AuditAttempts(target(), db_), written_before_stop + 40000);
  run_->Signal(SIGTERM);
  EXPECT_EQ(run_->Wait(30s), 0) << RunLog();
}

}  // namespace
}  // namespace stagesync::testing
