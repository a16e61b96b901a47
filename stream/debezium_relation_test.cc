// The encoder's per-relation schema cache across relation re-sends: pgoutput announces a
// relation again (after ALTER TABLE, or any relcache invalidation) and the decoder frees the
// old SourceRelation once its last event is gone. A later relation, of this table or another,
// may then be allocated at the same address; it must still get its own schema.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>
#include <cstddef>
#include <memory>
#include <new>

#include "stagesync/debezium.h"

namespace stagesync::debezium {
namespace {

// Storage for a few relations, handed out lowest free slot first. Freeing a relation and
// announcing another then reuses the freed address every time, as malloc often does for
// blocks of one size.
class RelationSlots {
 public:
  void* Take(size_t bytes) {
    if (bytes > kSlotBytes) throw std::bad_alloc();
    for (size_t i = 0; i < kSlots; ++i) {
      if (!used_[i]) {
        used_[i] = true;
        return storage_[i].data();
      }
    }
    throw std::bad_alloc();
  }
  void Give(void* p) {
    for (size_t i = 0; i < kSlots; ++i) {
      if (storage_[i].data() == p) used_[i] = false;
    }
  }

 private:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kSlotBytes = 512;
  struct alignas(std::max_align_t) Slot : std::array<std::byte, kSlotBytes> {};
  std::array<Slot, kSlots> storage_{};
  std::array<bool, kSlots> used_{};
};

template <class T>
struct SlotAllocator {
  using value_type = T;
  explicit SlotAllocator(RelationSlots* s) : slots(s) {}
  template <class U>
  SlotAllocator(const SlotAllocator<U>& other) : slots(other.slots) {}
  T* allocate(size_t n) { return static_cast<T*>(slots->Take(n * sizeof(T))); }
  void deallocate(T* p, size_t) { slots->Give(p); }
  template <class U>
  bool operator==(const SlotAllocator<U>& other) const {
    return slots == other.slots;
  }
  RelationSlots* slots;
};

// A relation as the pgoutput decoder builds one, in `slots`.
RelationPtr Announce(RelationSlots& slots, uint32_t id, const std::string& name,
                     std::vector<SourceColumn> columns) {
  auto rel = std::allocate_shared<SourceRelation>(SlotAllocator<SourceRelation>(&slots));
  rel->id = id;
  rel->schema = "public";
  rel->name = name;
  rel->columns = std::move(columns);
  return rel;
}

// Encodes one insert of `values` into `rel` (the event, and with it the caller's reference,
// is gone afterwards unless the caller keeps `rel`) and parses the value record.
void EncodeInsert(Encoder& enc, RelationPtr rel, Tuple values, rapidjson::Document* value,
                  const void** address) {
  *address = rel.get();
  TxnBegin txn;
  txn.xid = 7;
  txn.final_lsn = 1000;
  RowChange c;
  c.op = RowOp::kInsert;
  c.relation = std::move(rel);
  c.lsn = 900;
  c.new_tuple = std::move(values);
  std::vector<KafkaRecord> out;
  Status s = enc.EncodeRow(c, {&txn, 1, 1}, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(out.size(), 1u);
  value->Parse(out[0].value->c_str());
  ASSERT_FALSE(value->HasParseError()) << *out[0].value;
}

std::vector<std::string> AfterFields(const rapidjson::Document& v) {
  std::vector<std::string> names;
  for (const auto& f : v["schema"]["fields"][1]["fields"].GetArray())
    names.push_back(f["field"].GetString());
  return names;
}

std::string AfterFieldType(const rapidjson::Document& v, size_t i) {
  return v["schema"]["fields"][1]["fields"][i]["type"].GetString();
}

TEST(DebeziumRelationCache, AnotherTableAtAFreedRelationsAddressGetsItsOwnSchema) {
  RelationSlots slots;
  Encoder enc({"p", "db", true});
  rapidjson::Document first, second;
  const void* first_at = nullptr;
  const void* second_at = nullptr;
  EncodeInsert(enc,
               Announce(slots, 16390, "pgbench_tellers",
                        {{"tid", 23, -1, true},
                         {"bid", 23, -1, false},
                         {"tbalance", 23, -1, false},
                         {"filler", 1042, 88, false}}),
               {Value::Text("1"), Value::Text("1"), Value::Text("0"), Value::Null()}, &first,
               &first_at);
  EXPECT_STREQ(first["schema"]["name"].GetString(), "p.public.pgbench_tellers.Envelope");
  // The tellers relation is released by everyone but (maybe) the encoder; branches is
  // announced next and lands in the lowest free slot.
  EncodeInsert(
      enc,
      Announce(slots, 16387, "pgbench_branches",
               {{"bid", 23, -1, true}, {"bbalance", 23, -1, false}, {"filler", 1042, 92, false}}),
      {Value::Text("3"), Value::Text("-250"), Value::Null()}, &second, &second_at);
  if (first_at == second_at) std::cerr << "[relation cache] branches reused tellers' address\n";
  EXPECT_STREQ(second["schema"]["name"].GetString(), "p.public.pgbench_branches.Envelope");
  ASSERT_EQ(AfterFields(second), (std::vector<std::string>{"bid", "bbalance", "filler"}));
  EXPECT_STREQ(second["payload"]["source"]["table"].GetString(), "pgbench_branches");
  EXPECT_EQ(second["payload"]["after"]["bbalance"].GetInt(), -250);
}

TEST(DebeziumRelationCache, ResentRelationWithANewColumnTypeGetsTheNewSchema) {
  RelationSlots slots;
  Encoder enc({"p", "db", true});
  rapidjson::Document before, after;
  const void* before_at = nullptr;
  const void* after_at = nullptr;
  EncodeInsert(enc, Announce(slots, 16400, "t", {{"id", 23, -1, true}, {"v", 23, -1, false}}),
               {Value::Text("1"), Value::Text("7")}, &before, &before_at);
  ASSERT_EQ(AfterFields(before).size(), 2u);
  EXPECT_EQ(AfterFieldType(before, 1), "int32");
  // ALTER TABLE t ALTER v TYPE text: the same relation id announced again with a new shape.
  EncodeInsert(enc, Announce(slots, 16400, "t", {{"id", 23, -1, true}, {"v", 25, -1, false}}),
               {Value::Text("2"), Value::Text("seven")}, &after, &after_at);
  ASSERT_EQ(AfterFields(after).size(), 2u);
  EXPECT_EQ(AfterFieldType(after, 1), "string");
  EXPECT_STREQ(after["payload"]["after"]["v"].GetString(), "seven");
}

TEST(DebeziumRelationCache, ResentRelationWithAnAddedColumnGetsTheNewSchema) {
  RelationSlots slots;
  Encoder enc({"p", "db", true});
  rapidjson::Document before, after;
  const void* before_at = nullptr;
  const void* after_at = nullptr;
  EncodeInsert(
      enc,
      Announce(
          slots, 16410, "h",
          {{"id", 23, -1, true}, {"a", 25, -1, false}, {"b", 25, -1, false}, {"c", 25, -1, false}}),
      {Value::Text("1"), Value::Text("a"), Value::Text("b"), Value::Text("c")}, &before,
      &before_at);
  // ALTER TABLE h ADD COLUMN hid bigint.
  EncodeInsert(
      enc,
      Announce(slots, 16410, "h",
               {{"id", 23, -1, true},
                {"a", 25, -1, false},
                {"b", 25, -1, false},
                {"c", 25, -1, false},
                {"hid", 20, -1, false}}),
      {Value::Text("2"), Value::Text("a"), Value::Text("b"), Value::Text("c"), Value::Text("42")},
      &after, &after_at);
  ASSERT_EQ(AfterFields(after), (std::vector<std::string>{"id", "a", "b", "c", "hid"}))
      << after["payload"]["after"].MemberCount() << " values in the payload";
  EXPECT_EQ(AfterFieldType(after, 4), "int64");
  EXPECT_EQ(after["payload"]["after"]["hid"].GetInt64(), 42);
}

// One relation used by many events keeps one cached shape: the re-check is by identity.
TEST(DebeziumRelationCache, OneRelationEncodesTheSameSchemaEveryTime) {
  RelationSlots slots;
  Encoder enc({"p", "db", true});
  RelationPtr rel = Announce(slots, 1, "k", {{"id", 23, -1, true}});
  rapidjson::Document a, b;
  const void* at = nullptr;
  EncodeInsert(enc, rel, {Value::Text("1")}, &a, &at);
  EncodeInsert(enc, rel, {Value::Text("2")}, &b, &at);
  EXPECT_EQ(a["schema"], b["schema"]);
  EXPECT_EQ(b["payload"]["after"]["id"].GetInt(), 2);
}

}  // namespace
}  // namespace stagesync::debezium
