// DDL while streaming: a column added on both sides carries its values; a column added on
// the source only stops `run` with a message naming it (never a silent drop).
#include <signal.h>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using SchemaChangeTest = SyncTest;

TEST_F(SchemaChangeTest, column_added_midstream) {
  OnBoth("CREATE TABLE orders(id int PRIMARY KEY, total numeric)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO orders SELECT i, i * 1.5 FROM generate_series(1, 20) i");
  ASSERT_TRUE(Converges({{"orders", "id"}}));

  // Staging first (the migration), then production.
  OnTarget("ALTER TABLE orders ADD COLUMN currency text");
  OnSource("ALTER TABLE orders ADD COLUMN currency text");
  OnSource("INSERT INTO orders VALUES (21, 10, 'EUR'), (22, 11, NULL)");
  OnSource("UPDATE orders SET currency = 'USD' WHERE id <= 5");
  ASSERT_TRUE(Converges({{"orders", "id"}}));

  // A column with a default added on both sides: old rows get it from the DDL itself.
  OnTarget("ALTER TABLE orders ADD COLUMN status text DEFAULT 'new'");
  OnSource("ALTER TABLE orders ADD COLUMN status text DEFAULT 'new'");
  OnSource("UPDATE orders SET status = 'paid' WHERE id = 1");
  OnSource("INSERT INTO orders(id, total) VALUES (23, 1)");
  ASSERT_TRUE(Converges({{"orders", "id"}}));

  // Production only: the stream cannot be applied as is. `run` must stop and say why.
  OnSource("ALTER TABLE orders ADD COLUMN added_on_source_only int");
  OnSource("INSERT INTO orders(id, total, added_on_source_only) VALUES (24, 2, 7)");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run kept going after an unmappable column\n" << RunLog();
  EXPECT_NE(*code, 0) << RunLog();
  EXPECT_NE(run_->Stderr().find("added_on_source_only"), std::string::npos) << RunLog();
  EXPECT_NE(run_->Stderr().find("orders"), std::string::npos) << RunLog();
  // Everything before the offending change is in staging.
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM orders"), "23");

  // Once staging has the column too, a restart picks up where it stopped.
  OnTarget("ALTER TABLE orders ADD COLUMN added_on_source_only int");
  StartRun();
  EXPECT_TRUE(Converges({{"orders", "id"}}));
}

}  // namespace
}  // namespace stagesync::testing
