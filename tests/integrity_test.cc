// The direct path (`run`) where rows could go missing without a word: a table created after
// setup, a config narrowed after setup, and a status that read healthy while run was down.
#include <csignal>
#include <thread>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

class IntegrityTest : public SyncTest {
 protected:
  // Waits for run_ to exit on its own; its exit code.
  std::optional<int> RunExits(std::chrono::seconds timeout) { return run_->Wait(timeout); }
};

// Issue 10, item 4: a table created mid-window in an included schema is not in the
// publication, so pgoutput sends nothing of it. run stops naming it and the fix; after the
// fix (setup again, copy, restart) its later rows arrive.
TEST_F(IntegrityTest, table_created_after_setup_stops_run_naming_it) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO t VALUES (1, 'a')");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  OnBoth("CREATE TABLE late (id int PRIMARY KEY, v text)");
  OnSource("INSERT INTO late VALUES (1, 'written before anyone noticed')");
  auto code = RunExits(60s);
  ASSERT_TRUE(code) << "run went on without the new table\n" << RunLog();
  EXPECT_EQ(*code, 1) << RunLog();
  EXPECT_NE(RunLog().find("public.late match source.tables but are not in publication"),
            std::string::npos)
      << RunLog();
  EXPECT_NE(RunLog().find("run `stagesync setup` again"), std::string::npos) << RunLog();
  StatusResult status = Status();
  ASSERT_TRUE(status.json) << status.command.Describe();
  EXPECT_EQ((*status.json)["state"].text, "error") << status.command.out;

  // The fix the message gives: setup adds it to the publication, the rows are copied.
  SetupOrFail();
  OnTarget("INSERT INTO late VALUES (1, 'written before anyone noticed')");
  StartRun();
  OnSource("INSERT INTO late VALUES (2, 'after the fix'); INSERT INTO t VALUES (2, 'b')");
  EXPECT_TRUE(Converges({{"t", "id"}, {"late", "id"}}));
  EXPECT_TRUE(run_->Running()) << RunLog();
}

// Issue 10, item 5: changes already in the slot for a table excluded after setup are left
// out, as the config now says; the tables still selected arrive.
TEST_F(IntegrityTest, exclude_changed_after_setup_applies_to_changes_in_the_slot) {
  OnBoth("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
  SetupOrFail();
  OnSource("INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); TRUNCATE b");
  OnSource("INSERT INTO a VALUES (2); INSERT INTO b VALUES (2)");
  spec_.exclude = {"public.b"};
  WriteConfig();
  StartRun();
  ASSERT_TRUE(Converges({{"a", "id"}}));
  ASSERT_TRUE(CaughtUp());
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM b"), "0");
  EXPECT_EQ(source().QueryValue(db_, "SELECT count(*) FROM b"), "1");
}

// Issue 10, item 6: with run down (killed, or stopped on an error) lag is the real age of
// the oldest change not applied, never 0 while changes wait; after an error the state says
// error and why.
TEST_F(IntegrityTest, status_tells_the_real_lag_and_the_error_while_run_is_down) {
  OnSource("CREATE TABLE t (id int PRIMARY KEY, v int)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v < 1000))");
  SetupOrFail();
  StartRun();
  for (int i = 0; i < 20; ++i) OnSource("INSERT INTO t VALUES (" + std::to_string(i) + ", 1)");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  // Killed right after applying: the slot is confirmed behind what the target has.
  run_->Kill();
  OnSource("INSERT INTO t VALUES (100, 2)");
  std::this_thread::sleep_for(2s);
  StatusResult down = Status();
  ASSERT_TRUE(down.json) << down.command.Describe();
  EXPECT_EQ((*down.json)["state"].text, "idle") << down.command.out;
  ASSERT_FALSE((*down.json)["lag_seconds"].is_null()) << down.command.out;
  EXPECT_GE((*down.json)["lag_seconds"].number(), 1.5) << down.command.out;

  // Stopped on an error: a value the target rejects.
  StartRun();
  ASSERT_TRUE(Converges({{"t", "id"}}));
  OnSource("INSERT INTO t VALUES (101, 5000)");
  auto code = RunExits(60s);
  ASSERT_TRUE(code) << RunLog();
  EXPECT_EQ(*code, 1) << RunLog();
  OnSource("INSERT INTO t VALUES (102, 3)");
  std::this_thread::sleep_for(2s);
  StatusResult failed = Status();
  ASSERT_TRUE(failed.json) << failed.command.Describe();
  EXPECT_EQ((*failed.json)["state"].text, "error") << failed.command.out;
  EXPECT_NE((*failed.json)["error"].text.find("stopped on an error"), std::string::npos)
      << failed.command.out;
  EXPECT_NE((*failed.json)["error"].text.find("check"), std::string::npos) << failed.command.out;
  ASSERT_FALSE((*failed.json)["lag_seconds"].is_null()) << failed.command.out;
  EXPECT_GE((*failed.json)["lag_seconds"].number(), 1.5) << failed.command.out;
  EXPECT_NE((*failed.json)["source_bytes_behind"].text, "0") << failed.command.out;
}

}  // namespace
}  // namespace stagesync::testing
