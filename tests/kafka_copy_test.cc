// `stagesync copy` with the Kafka transport, when a capture ran between `setup` and the copy:
// the topics still hold its records of changes the copy's snapshot already contains, and
// apply leaves those out (a unique value that moved between rows before the copy would
// collide if replayed onto it; an append-only ledger would be doubled).
#include <csignal>
#include <thread>

#include "apply_audit.h"
#include "kafka_fixture.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

class KafkaCopyTest : public KafkaSyncTest {
 protected:
  size_t RecordsOn(const std::string& table) {
    CommandResult read =
        Kcat({"-C", "-t", db_ + ".public." + table, "-o", "beginning", "-e", "-q"});
    return static_cast<size_t>(std::count(read.out.begin(), read.out.end(), '\n'));
  }
};

TEST_F(KafkaCopyTest, apply_leaves_out_what_an_earlier_capture_sent_that_the_copy_holds) {
  OnBoth(
      "CREATE TABLE item (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, qty int);"
      "CREATE TABLE ledger (id bigserial PRIMARY KEY, note text)");
  OnSource("INSERT INTO item SELECT i, 'code' || i, 0 FROM generate_series(1, 100) i");
  InstallApplyAudit(target(), db_, "ledger", "id");
  UseKafka();
  SetupOrFail();
  capture_ = Start("capture");
  // Before the copy, captured: a code moves from one row to another, ledger rows arrive.
  OnSource("INSERT INTO item VALUES (1001, 'moved', 0)");
  OnSource("UPDATE item SET code = 'was moved' WHERE id = 1001");
  OnSource("INSERT INTO item VALUES (1002, 'moved', 0)");
  OnSource("INSERT INTO ledger (note) SELECT 'before the copy' FROM generate_series(1, 50)");
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (RecordsOn("ledger") < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(RecordsOn("ledger"), 50u) << Logs();
  capture_->Signal(SIGTERM);
  ASSERT_EQ(capture_->Wait(30s), 0) << Logs();

  CommandResult copy = Stagesync({"copy"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  capture_ = Start("capture");
  apply_ = Start("apply");
  OnSource("INSERT INTO ledger (note) SELECT 'after the copy' FROM generate_series(1, 20)");
  OnSource("UPDATE item SET qty = qty + 1 WHERE id <= 10 OR id = 1002");
  EXPECT_TRUE(Converges({{"item", "id"}, {"ledger", "id"}}, 60s)) << Logs();
  // Each ledger row written once: by the copy, or by the stream after it.
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id")) << Logs();
  EXPECT_NE(Logs().find("leaving out records from before the copy's snapshot"), std::string::npos)
      << Logs();
}

}  // namespace
}  // namespace stagesync::testing
