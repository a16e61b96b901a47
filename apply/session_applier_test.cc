// The engine-neutral applier over a fake target session: group boundaries, transactions the
// target already has, a stop inside a source transaction, and the row-by-row fallback.
#include "session_applier.h"

#include <gtest/gtest.h>

#include <functional>

namespace stagesync::apply {
namespace {

// Records what the applier asks of the target; rows "written" live in `rows` (id -> v) and
// become `committed` at Commit, as a real transaction would.
class FakeSession : public TargetSession {
 public:
  std::vector<std::string> calls;
  std::map<std::string, std::string> rows, committed;
  Checkpoint checkpoint;  // what ReadCheckpoint returns; WriteCheckpoint's last one lands here
  std::function<bool(const TableBatch&)> batch_fails = [](const TableBatch&) { return false; };
  std::string reject_id;  // WriteRow rejects the row with this id

  Status ReadCheckpoint(const std::string&, Checkpoint* out, KnownSourceColumns* known) override {
    *out = checkpoint;
    (*known)["public.t"] = {"id", "v"};
    return Status::Ok();
  }
  Status Begin() override { return Call("begin"); }
  Status Savepoint() override {
    saved_ = rows;
    return Call("savepoint");
  }
  Status RollbackToSavepoint() override {
    rows = saved_;
    return Call("rollback to savepoint");
  }
  Status ReleaseSavepoint() override { return Call("release"); }
  Status Commit() override {
    committed = rows;
    checkpoint = pending_checkpoint_.value_or(checkpoint);
    return Call("commit");
  }
  void Rollback() override {
    rows = committed;
    pending_checkpoint_.reset();
    Call("rollback");
  }
  Status LoadTable(const std::string& schema, const std::string& name,
                   std::optional<TargetTable>* out) override {
    if (schema != "public" || name != "t") {
      out->reset();
      return Status::Ok();
    }
    TargetTable t;
    t.schema = "public";
    t.name = "t";
    t.columns = {{"id", "integer"}, {"v", "text"}};
    for (auto& c : t.columns) c.cast_type = c.decode_type = c.type;
    t.key = {0};
    *out = t;
    return Status::Ok();
  }
  Status WriteBatch(const TableBatch& batch) override {
    if (batch_fails(batch)) return Status::Error("duplicate key value violates unique constraint");
    for (const PendingRow& r : batch.rows()) {
      if (r.state == PendingRow::State::kDelete) {
        rows.erase(r.key[0].text);
      } else {
        rows[r.key[0].text] = r.image[1].text;
      }
    }
    return Call("batch of " + std::to_string(batch.size()));
  }
  Status WriteRow(const TablePlan&, const RowChange& c) override {
    const Tuple& t = c.op == RowOp::kDelete ? c.old_tuple : c.new_tuple;
    if (t[0].text == reject_id) return Status::Error("value too long for type character(1)");
    if (c.op == RowOp::kDelete) {
      rows.erase(t[0].text);
    } else {
      rows[t[0].text] = t[1].text;
    }
    return Call("row " + t[0].text);
  }
  Status RunAfter(const TablePlan&, const std::vector<WrittenRow>&) override {
    return Status::Ok();
  }
  Status RouteRows(const SplitRoute&, const std::vector<const TablePlan*>&,
                   const std::vector<const Tuple*>&, std::vector<int>*) override {
    return Status::Error("no splits here");
  }
  Status Truncate(const std::vector<TargetTable>&, const TruncateChange&) override {
    rows.clear();
    return Call("truncate");
  }
  Status WriteCheckpoint(const std::string&, const Checkpoint& c) override {
    pending_checkpoint_ = c;
    return Call("checkpoint " + std::to_string(c.lsn));
  }
  Status WriteKafkaPositions(const std::string&, const std::string&,
                             const std::vector<KafkaPosition>& positions, uint64_t,
                             TimestampUs) override {
    return Call("offsets " + std::to_string(positions.size()));
  }
  Status LoadKafkaPositions(const std::string&, std::vector<KafkaPosition>*) override {
    return Status::Ok();
  }
  Status ReadCopyState(const std::string&, CopyState* out) override {
    *out = CopyState{};
    return Status::Ok();
  }
  Status WriteCopyStart(const std::string&, const CopyState&) override {
    return Call("copy start");
  }
  Status WriteCopyRangeDone(const std::string&, const CopyRange& r) override {
    return Call("copy done " + r.table + " " + std::to_string(r.part));
  }
  Status WriteCopyFinished(const std::string&) override { return Call("copy finished"); }
  Status RunDdl(const std::string& sql) override { return Call("ddl " + sql); }
  Status ReadSecondaryIndexes(const TargetTable&, bool, std::vector<CopyIndex>*) override {
    return Call("read indexes");
  }
  Status WriteCopyIndexes(const std::string&, const std::vector<CopyIndex>&) override {
    return Call("copy indexes");
  }
  Status WriteCopyIndexRebuilt(const std::string&, int) override { return Call("index rebuilt"); }
  Status IndexExists(const CopyIndex&, bool* out) override {
    *out = false;
    return Call("index exists");
  }
  Status HasRows(const TargetTable&, bool* out) override {
    *out = !rows.empty();
    return Status::Ok();
  }

 private:
  Status Call(const std::string& what) {
    calls.push_back(what);
    return Status::Ok();
  }
  std::map<std::string, std::string> saved_;
  std::optional<Checkpoint> pending_checkpoint_;
};

RelationPtr Table() {
  auto r = std::make_shared<SourceRelation>();
  r->id = 7;
  r->schema = "public";
  r->name = "t";
  r->columns = {{"id", 23, -1, true}, {"v", 25, -1, false}};
  return r;
}

// One source transaction ending at `end`, inserting (or with `op`, updating/deleting) ids.
EventBatch Txn(Lsn end, std::vector<int> ids, RowOp op = RowOp::kInsert,
               const std::string& value = "x") {
  static RelationPtr rel = Table();
  EventBatch b;
  b.push_back(TxnBegin{1, end - 1, 1000});
  for (int id : ids) {
    RowChange c;
    c.op = op;
    c.relation = rel;
    c.lsn = end - 1;
    Tuple row = {Value::Text(std::to_string(id)), Value::Text(value)};
    if (op == RowOp::kDelete) {
      c.old_tuple = {row[0], Value::Null()};
    } else {
      c.new_tuple = row;
    }
    b.push_back(std::move(c));
  }
  b.push_back(TxnCommit{end - 1, end, 1000});
  return b;
}

class SessionApplierTest : public ::testing::Test {
 protected:
  SessionApplierTest() {
    config_.source.kind = Engine::kPostgres;
    config_.source.slot = "s";
    config_.apply.batch_delay = Duration(60000);  // groups end on rows or an idle queue
  }
  // Opens an applier over the fake (kept for inspection) and applies `batches`, pushed as
  // one before the queue closes.
  Status Apply(std::vector<EventBatch> batches, bool close = true) {
    auto session = std::make_unique<FakeSession>(fake_);
    FakeSession* fake = session.get();
    SessionApplier applier(config_, std::move(session));
    if (Status s = applier.Open(); !s.ok()) return s;
    EventQueue queue(1 << 30);
    EventBatch all;
    for (auto& b : batches) all.insert(all.end(), b.begin(), b.end());
    queue.Push(all, std::chrono::milliseconds(100));
    if (close) queue.Close();
    Status s = applier.Run(queue);
    fake_ = *fake;
    applied_ = applier.applied;
    return s;
  }
  Config config_;
  FakeSession fake_;
  Lsn applied_ = 0;
};

TEST_F(SessionApplierTest, consecutive_transactions_share_one_group_up_to_batch_rows) {
  config_.apply.batch_rows = 4;
  ASSERT_TRUE(Apply({Txn(10, {1, 2}), Txn(20, {3, 4}), Txn(30, {5})}).ok());
  // Two transactions fill the first group (4 rows); the third commits on its own.
  EXPECT_EQ(fake_.calls,
            (std::vector<std::string>{"begin", "savepoint", "batch of 4", "release",
                                      "checkpoint 20", "commit", "begin", "savepoint", "batch of 1",
                                      "release", "checkpoint 30", "commit"}));
  EXPECT_EQ(fake_.committed.size(), 5u);
  EXPECT_EQ(fake_.checkpoint.lsn, 30u);
  EXPECT_EQ(fake_.checkpoint.transactions, 3u);
  EXPECT_EQ(fake_.checkpoint.events, 5u);
  EXPECT_EQ(applied_, 30u);
}

TEST_F(SessionApplierTest, a_transaction_is_never_split_across_groups) {
  config_.apply.batch_rows = 2;
  ASSERT_TRUE(Apply({Txn(10, {1, 2, 3}), Txn(20, {4})}).ok());
  ASSERT_EQ(std::count(fake_.calls.begin(), fake_.calls.end(), "commit"), 2);
  EXPECT_EQ(fake_.calls[2], "batch of 3");  // the whole first transaction in one group
}

TEST_F(SessionApplierTest, transactions_the_target_already_has_are_skipped) {
  fake_.checkpoint.lsn = 20;  // a restart re-sends from the source's confirmed position
  fake_.checkpoint.transactions = 2;
  fake_.checkpoint.events = 4;
  ASSERT_TRUE(Apply({Txn(10, {1, 2}), Txn(20, {3, 4}), Txn(30, {5})}).ok());
  EXPECT_EQ(fake_.committed, (std::map<std::string, std::string>{{"5", "x"}}));
  EXPECT_EQ(fake_.checkpoint.lsn, 30u);
  EXPECT_EQ(fake_.checkpoint.transactions, 3u);
  EXPECT_EQ(fake_.checkpoint.events, 5u);
}

TEST_F(SessionApplierTest, a_stop_inside_a_source_transaction_commits_none_of_its_group) {
  EventBatch partial = Txn(30, {5, 6});
  partial.pop_back();  // the stream stopped before this transaction's commit
  ASSERT_TRUE(Apply({Txn(10, {1}), partial}).ok());
  // The first transaction may have committed on its own; the partial one never does.
  EXPECT_EQ(fake_.committed.count("5"), 0u);
  EXPECT_EQ(fake_.committed.count("6"), 0u);
  EXPECT_LE(fake_.checkpoint.lsn, 10u);
  EXPECT_EQ(fake_.calls.back(), "rollback");
}

TEST_F(SessionApplierTest, a_failed_batch_is_replayed_row_by_row_and_the_error_names_the_row) {
  fake_.batch_fails = [](const TableBatch&) { return true; };
  fake_.reject_id = "3";
  Status s = Apply({Txn(10, {1, 2, 3, 4})});
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.transient());
  EXPECT_NE(s.message().find("insert on public.t key (id=3)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("value too long"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("lsn=0/9"), std::string::npos) << s.message();
  // Rows 1 and 2 were written one by one before row 3 failed; nothing was committed.
  EXPECT_EQ(std::count(fake_.calls.begin(), fake_.calls.end(), "rollback to savepoint"), 1);
  EXPECT_EQ(std::count(fake_.calls.begin(), fake_.calls.end(), "row 1"), 1);
  EXPECT_EQ(std::count(fake_.calls.begin(), fake_.calls.end(), "row 4"), 0);
  EXPECT_TRUE(fake_.committed.empty());
  EXPECT_EQ(fake_.checkpoint.lsn, 0u);
}

TEST_F(SessionApplierTest, a_failed_batch_whose_rows_all_apply_commits_them_exactly) {
  // A set-based write can fail where the source's own order succeeds (a unique value moving
  // between rows): the replay applies the changes as the source made them.
  fake_.batch_fails = [](const TableBatch&) { return true; };
  ASSERT_TRUE(Apply({Txn(10, {1, 2}), Txn(20, {2}, RowOp::kUpdate, "y")}).ok());
  EXPECT_EQ(fake_.committed, (std::map<std::string, std::string>{{"1", "x"}, {"2", "y"}}));
  EXPECT_EQ(fake_.checkpoint.lsn, 20u);
}

TEST_F(SessionApplierTest, a_table_missing_on_the_target_stops_naming_it_and_the_fix) {
  auto other = std::make_shared<SourceRelation>(*Table());
  other->name = "gone";
  EventBatch b = Txn(10, {1});
  std::get<RowChange>(b[1]).relation = other;
  Status s = Apply({b});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("public.gone has no target table"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[mapping]"), std::string::npos) << s.message();
  EXPECT_TRUE(fake_.committed.empty());
}

}  // namespace
}  // namespace stagesync::apply
