#include "batch.h"

#include <gtest/gtest.h>

namespace stagesync::apply {
namespace {

RelationPtr Rel() {
  auto r = std::make_shared<SourceRelation>();
  r->schema = "public";
  r->name = "t";
  r->columns = {{"id", 23, -1, true}, {"v", 25, -1, false}, {"big", 25, -1, false}};
  return r;
}

TablePlan Plan() {
  TablePlan p;
  p.relation = Rel();
  p.target.schema = "public";
  p.target.name = "t";
  p.target.columns = {{"id", "integer"}, {"v", "text"}, {"big", "text"}};
  p.target.key = {0};
  p.source_to_target = {0, 1, 2};
  p.key_source = {0};
  p.key_unique = true;
  return p;
}

RowChange Change(const TablePlan& p, RowOp op, std::string id, Tuple values = {}) {
  RowChange c;
  c.op = op;
  c.relation = p.relation;
  if (op == RowOp::kDelete) {
    c.old_tuple = {Value::Text(id), Value::Null(), Value::Null()};
  } else {
    c.new_tuple = {Value::Text(id)};
    for (auto& v : values) c.new_tuple.push_back(v);
  }
  return c;
}

TEST(TableBatch, CoalescesEachKeyToItsFinalState) {
  TablePlan p = Plan();
  TableBatch b(&p);
  using S = PendingRow::State;
  b.Add(Change(p, RowOp::kInsert, "1", {Value::Text("a"), Value::Text("BIG")}));
  b.Add(Change(p, RowOp::kUpdate, "1", {Value::Text("b"), Value::Unchanged()}));
  b.Add(Change(p, RowOp::kUpdate, "2", {Value::Text("x"), Value::Unchanged()}));
  b.Add(Change(p, RowOp::kUpdate, "2", {Value::Text("y"), Value::Unchanged()}));
  b.Add(Change(p, RowOp::kDelete, "3"));
  b.Add(Change(p, RowOp::kInsert, "3", {Value::Text("again"), Value::Null()}));
  b.Add(Change(p, RowOp::kInsert, "4", {Value::Text("gone"), Value::Null()}));
  b.Add(Change(p, RowOp::kDelete, "4"));
  ASSERT_EQ(b.size(), 4u);
  const auto& rows = b.rows();
  EXPECT_EQ(rows[0].state, S::kInsert);
  EXPECT_EQ(rows[0].image[1].text, "b");
  EXPECT_EQ(rows[0].image[2].text, "BIG");  // unchanged TOAST keeps the inserted value
  EXPECT_EQ(rows[1].state, S::kUpdate);
  EXPECT_EQ(rows[1].image[1].text, "y");
  EXPECT_TRUE(rows[1].image[2].is_unchanged());  // still unknown: left out of the SET list
  EXPECT_EQ(rows[2].state, S::kDeleteInsert);
  EXPECT_EQ(rows[3].state, S::kDelete);
}

TEST(TableBatch, KeyMovesAreDetected) {
  TablePlan p = Plan();
  RowChange c = Change(p, RowOp::kUpdate, "2", {Value::Text("v"), Value::Null()});
  EXPECT_FALSE(MovesKey(p, c));
  c.old_tuple = {Value::Text("1"), Value::Null(), Value::Null()};
  EXPECT_TRUE(MovesKey(p, c));
  EXPECT_EQ(KeyOf(p, c)[0].text, "1");
}

TEST(ArrayLiteral, QuotesEverythingButNull) {
  std::string out;
  AppendArrayElement(out, Value::Text("a\"b\\c,{}"));
  out += ',';
  AppendArrayElement(out, Value::Null());
  out += ',';
  AppendArrayElement(out, Value::Text("NULL"));
  out += ',';
  AppendArrayElement(out, Value::Text(""));
  EXPECT_EQ(out, R"("a\"b\\c,{}",NULL,"NULL","")");
}

}  // namespace
}  // namespace stagesync::apply
