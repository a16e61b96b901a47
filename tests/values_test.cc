// Values survive source -> capture -> apply -> target bit for bit, for every kind of value
// and table shape a production schema has. Target tables are created with the same DDL;
// tables are compared by digest of their rows' text form.
#include <signal.h>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using ValuesTest = SyncTest;

// One table per type: `v_<name>(id int PRIMARY KEY, v <type>)`, one row per literal plus a
// NULL row. Literals are SQL expressions.
struct ValueCase {
  std::string name;
  std::string type;
  std::vector<std::string> literals;
};

const std::vector<ValueCase>& ValueZoo() {
  static const std::vector<ValueCase> zoo = {
      {"int2", "smallint", {"-32768", "32767", "0"}},
      {"int4", "integer", {"-2147483648", "2147483647", "0"}},
      {"int8", "bigint", {"-9223372036854775808", "9223372036854775807", "0"}},
      {"numeric",
       "numeric",
       {"'NaN'", "'Infinity'", "'-Infinity'",
        "'123456789012345678901234567890.123456789012345678901234567890'",
        "'-0.000000000000000000000000000000000001'", "'1.50'", "'0'", "'-0.0'", "1e-100",
        "'99999999999999999999999999999999999999e100'"}},
      {"numeric_scaled", "numeric(12,4)", {"'12345678.1234'", "'-0.0001'", "'1.5'", "0"}},
      {"float4",
       "real",
       {"'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'1.4e-45'", "'3.4028235e38'", "'0.1'",
        "'1.17549435e-38'"}},
      {"float8",
       "double precision",
       {"'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'1e-308'", "'4.9e-324'",
        "'2.2250738585072014e-308'", "'1.7976931348623157e308'", "'0.1'", "'3.141592653589793'"}},
      {"text",
       "text",
       {R"(E'tab\there')", R"(E'line1\nline2\r\nline3')", R"(E'back\\slash \\N \\\\')",
        R"('it''s "quoted"')", R"('😀 ünïcödé 中文 🏳️‍🌈')", "''", "'NULL'",
        R"(E'\\N')", "' leading and trailing  '", R"(E'\x01\x1f\x7f control')",
        R"('{"not":"json"}')", R"(E'ends with backslash\\')", "repeat('x', 5000)"}},
      {"varchar", "varchar(10)", {"''", "'abc'", "'ten chars!'"}},
      {"bpchar", "char(5)", {"'ab'", "''", "'abcde'"}},
      {"qchar", "\"char\"", {"'a'", "'\\'", "''"}},
      {"bytea",
       "bytea",
       {R"('\x')", R"('\x00ff00')", R"('\x5c4e')", "decode(repeat('00ff', 3000), 'hex')",
        R"(convert_to(E'a\tb\nc\\', 'UTF8'))"}},
      {"bool", "boolean", {"true", "false"}},
      {"date",
       "date",
       {"'2024-02-29'", "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'5874897-12-31'",
        "'2000-01-01'"}},
      {"time", "time", {"'00:00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:34:56.5'"}},
      {"timetz",
       "timetz",
       {"'12:34:56.789+05:30'", "'23:59:59.999999+15:59'", "'00:00:00-15:59'", "'04:05:06 UTC'"}},
      {"timestamp",
       "timestamp",
       {"'infinity'", "'-infinity'", "'2000-01-01 00:00:00.000001'",
        "'294276-12-31 23:59:59.999999'", "'4713-01-01 00:00:00 BC'", "'1970-01-01'"}},
      {"timestamptz",
       "timestamptz",
       {"'infinity'", "'-infinity'", "'2024-03-31 02:30:00+02'", "'1999-12-31 23:59:59.999999+00'",
        "'1900-01-01 00:00:00+05:53:28'", "'2038-01-19 03:14:08.5-08'"}},
      {"interval",
       "interval",
       {"'1 year 2 mons 3 days 04:05:06.789'", "'-178000000 years'", "'178000000 years'",
        "'00:00:00'", "'1 mon -1 day'", "'-00:00:00.000001'", "'2147483647 days'"}},
      {"uuid",
       "uuid",
       {"'00000000-0000-0000-0000-000000000000'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'"}},
      {"json",
       "json",
       {R"('{"b":1,   "a":[1,2,{"x":null}], "b":2}')", R"('"\u00e9\n"')", "'[]'", "'null'",
        R"('  {"keeps":"whitespace"}  ')", "'1e400'"}},
      {"jsonb",
       "jsonb",
       {R"('{"b":1, "a":[true,null,1.50], "nested":{"k":"v\"q"}}')", "'\"string\"'", "'null'",
        "'{}'", "'12345678901234567890.123'"}},
      {"int_array",
       "integer[]",
       {"'{1,NULL,3}'", "'{}'", "'{{1,2},{3,4}}'", "'[0:1]={5,6}'", "ARRAY[NULL]::integer[]"}},
      {"text_array",
       "text[]",
       {R"('{"a,b","c\"d",NULL,"NULL","","with space","back\\slash","{braces}"}')",
        R"(ARRAY[E'tab\t', E'nl\n', '😀'])", "'{}'"}},
      {"enum", "mood", {"'sad'", "'happy 😀'", "'has''quote'", "'has,comma'"}},
      {"enum_array", "mood[]", {"'{sad,\"has,comma\"}'", "'{}'"}},
      {"inet", "inet", {"'192.168.0.1/24'", "'::1'", "'10.0.0.1'", "'2001:db8::1/64'"}},
      {"cidr", "cidr", {"'10.0.0.0/8'", "'2001:db8::/32'", "'192.168.1.0/24'"}},
      {"macaddr", "macaddr", {"'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"}},
      {"macaddr8", "macaddr8", {"'08:00:2b:01:02:03:04:05'"}},
      {"bit", "bit(4)", {"B'1010'", "B'0000'"}},
      {"varbit", "bit varying", {"B''", "B'1'", "B'1010101010101010101'"}},
      {"point", "point", {"'(1.5,-2)'", "'(NaN,Infinity)'"}},
      {"tsvector", "tsvector", {"'a fat:2 cat''s'", "''"}},
      {"xml", "xml", {"'<a b=\"1\">t&amp;x</a>'", "'<!-- c --><r/>'"}},
      {"money", "money", {"'12.34'", "'-92233720368547758.08'"}},
      {"oid", "oid", {"0", "4294967295"}},
      {"int4range", "int4range", {"'[1,10)'", "'empty'", "'(,5]'"}},
      {"tstzrange", "tstzrange", {"'[2024-01-01 00:00+00,infinity)'"}},
  };
  return zoo;
}

TEST_F(ValuesTest, values_round_trip_bit_exact) {
  OnBoth("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀', 'has''quote', 'has,comma')");
  std::vector<TableComparison> tables;
  for (const ValueCase& c : ValueZoo()) {
    OnBoth("CREATE TABLE v_" + c.name + "(id int PRIMARY KEY, v " + c.type + ")");
    tables.emplace_back("v_" + c.name, "id");
  }
  SetupOrFail();
  // Inserts, then an update to another literal and a delete, captured while run is down.
  for (const ValueCase& c : ValueZoo()) {
    std::string sql = "INSERT INTO v_" + c.name + " VALUES (0, NULL)";
    for (size_t i = 0; i < c.literals.size(); ++i) {
      sql += ", (" + std::to_string(i + 1) + ", " + c.literals[i] + ")";
    }
    OnSource(sql);
    OnSource("UPDATE v_" + c.name + " SET v = " + c.literals.back() + " WHERE id = 1");
    OnSource("INSERT INTO v_" + c.name + " VALUES (-1, " + c.literals[0] + ")");
    OnSource("UPDATE v_" + c.name + " SET v = NULL WHERE id = -1");
    if (c.literals.size() > 2) OnSource("DELETE FROM v_" + c.name + " WHERE id = 2");
  }
  StartRun();
  ASSERT_TRUE(Converges(tables));
  // The same values again, now streamed live, in one big transaction.
  std::string live = "BEGIN;";
  for (const ValueCase& c : ValueZoo()) {
    live += "INSERT INTO v_" + c.name + " SELECT id + 1000, v FROM v_" + c.name + ";";
    live += "UPDATE v_" + c.name + " SET v = NULL WHERE id = 1001;";
  }
  OnSource(live + "COMMIT;");
  EXPECT_TRUE(Converges(tables));
}

// The plainest change of all, each step in its own transaction, live and from a backlog.
TEST_F(ValuesTest, update_of_existing_row_applies) {
  OnBoth("CREATE TABLE s(id int PRIMARY KEY, v text)");
  std::vector<TableComparison> tables = {{"s", "id"}};
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO s VALUES (1, 'a'), (2, 'a'), (3, 'a')");
  ASSERT_TRUE(Converges(tables));
  OnSource("UPDATE s SET v = 'b' WHERE id = 1");
  EXPECT_TRUE(Converges(tables, 20s)) << "single-row UPDATE in its own transaction";
  OnSource("UPDATE s SET v = 'c'");
  EXPECT_TRUE(Converges(tables, 20s)) << "multi-row UPDATE";
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  OnSource("UPDATE s SET v = 'd' WHERE id = 2");
  OnSource("UPDATE s SET v = 'e' WHERE id = 3");
  StartRun();
  EXPECT_TRUE(Converges(tables, 20s)) << "UPDATEs captured while run was down";
}

std::string IncompressibleText(int kilobytes) {
  // md5 hex of distinct inputs: 32 chars each, does not compress below the TOAST threshold.
  return "(SELECT string_agg(md5(i::text || 'salt'), '') FROM generate_series(1, " +
         std::to_string(kilobytes * 32) + ") i)";
}

TEST_F(ValuesTest, toasted_value_survives_update_of_other_column) {
  OnBoth("CREATE TABLE docs(id int PRIMARY KEY, counter int, body text, blob bytea, meta jsonb)");
  std::vector<TableComparison> tables = {{"docs", "id"}};
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO docs VALUES (1, 0, " + IncompressibleText(320) + ", decode(" +
           IncompressibleText(200) + ", 'hex'), '{\"k\": 1}')");
  ASSERT_TRUE(Converges(tables));
  ASSERT_EQ(source().QueryValue(db_, "SELECT length(body) FROM docs WHERE id = 1"), "327680");
  // pgoutput sends body and blob as "unchanged TOAST": they must keep their value.
  OnSource("UPDATE docs SET counter = counter + 1 WHERE id = 1");
  ASSERT_TRUE(Converges(tables));
  // Insert and update in one transaction, and an update while run is down.
  OnSource("BEGIN; INSERT INTO docs VALUES (2, 0, " + IncompressibleText(400) +
           ", NULL, NULL); UPDATE docs SET counter = 5, meta = '[]' WHERE id = 2; COMMIT;");
  ASSERT_TRUE(Converges(tables));
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  OnSource("UPDATE docs SET counter = counter + 10 WHERE id IN (1, 2)");
  OnSource("UPDATE docs SET body = body || 'tail' WHERE id = 2");
  OnSource("INSERT INTO docs VALUES (3, 0, " + IncompressibleText(310) + ", NULL, NULL)");
  OnSource("UPDATE docs SET blob = NULL WHERE id = 1");
  OnSource("DELETE FROM docs WHERE id = 3");
  StartRun();
  EXPECT_TRUE(Converges(tables));
  EXPECT_EQ(target().QueryValue(db_, "SELECT length(body) FROM docs WHERE id = 1"), "327680");
}

TEST_F(ValuesTest, composite_primary_key_and_key_update) {
  OnBoth(
      "CREATE TABLE cpk(region text, id int, day date, payload text, "
      "PRIMARY KEY (region, id, day))");
  std::vector<TableComparison> tables = {{"cpk", "region, id, day"}};
  SetupOrFail();
  StartRun();
  OnSource(
      "INSERT INTO cpk VALUES ('eu', 1, '2024-01-01', 'a'), ('eu', 2, '2024-01-01', 'b'), "
      "('us', 1, '2024-01-01', 'c'), ('eu', 1, '2024-01-02', 'd')");
  OnSource("UPDATE cpk SET payload = 'a2' WHERE region = 'eu' AND id = 1 AND day = '2024-01-01'");
  OnSource("UPDATE cpk SET id = 10 WHERE region = 'us' AND id = 1");  // key change
  OnSource("UPDATE cpk SET region = 'ap', payload = NULL WHERE id = 2");
  OnSource("DELETE FROM cpk WHERE region = 'eu' AND id = 1 AND day = '2024-01-02'");
  OnSource("INSERT INTO cpk VALUES ('eu', 1, '2024-01-02', 'reinserted')");
  // Swap two keys within one transaction.
  OnSource(
      "BEGIN; UPDATE cpk SET id = -1 WHERE region = 'eu' AND id = 1 AND day = '2024-01-01';"
      "UPDATE cpk SET id = 1 WHERE region = 'us' AND id = 10;"
      "UPDATE cpk SET id = 10, region = 'us' WHERE id = -1; COMMIT;");
  EXPECT_TRUE(Converges(tables));
}

TEST_F(ValuesTest, replica_identity_full_table_without_key) {
  OnBoth(
      "CREATE TABLE nokey(a int, b text, c double precision, d numeric);"
      "ALTER TABLE nokey REPLICA IDENTITY FULL");
  std::vector<TableComparison> tables = {{"nokey", "t::text"}};
  spec_.allow_keyless = true;  // the target starts empty
  SetupOrFail();
  StartRun();
  OnSource(
      "INSERT INTO nokey VALUES (1, 'x', 1.5, 1.50), (1, 'x', 1.5, 1.50), "
      "(2, 'y', NULL, NULL), (3, NULL, NULL, 0), (4, 'nan', 'NaN', 'NaN'), (5, '', -0.0, 0)");
  ASSERT_TRUE(Converges(tables));
  // Exactly one of two identical rows goes.
  OnSource("DELETE FROM nokey WHERE ctid = (SELECT ctid FROM nokey WHERE a = 1 LIMIT 1)");
  // Rows found through NULL and NaN values in the old image.
  OnSource("UPDATE nokey SET b = 'z' WHERE a = 2");
  OnSource("UPDATE nokey SET b = 'w', d = 2 WHERE a = 3");
  OnSource("UPDATE nokey SET a = 40 WHERE a = 4");
  OnSource("DELETE FROM nokey WHERE a = 5");
  OnSource("INSERT INTO nokey VALUES (6, 'new', 6, 6)");
  EXPECT_TRUE(Converges(tables));
}

TEST_F(ValuesTest, truncate_replicates) {
  OnBoth(R"(CREATE TABLE parent(id int PRIMARY KEY, name text);
            CREATE TABLE child(id int PRIMARY KEY, parent_id int REFERENCES parent(id), v text);
            CREATE TABLE solo(id serial PRIMARY KEY, v text);
            CREATE TABLE keep(id int PRIMARY KEY, v text);)");
  std::vector<TableComparison> tables = {
      {"parent", "id"}, {"child", "id"}, {"solo", "id"}, {"keep", "id"}};
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 50) i;
              INSERT INTO child SELECT i, i % 50 + 1, 'c' || i FROM generate_series(1, 200) i;
              INSERT INTO solo(v) SELECT 's' || i FROM generate_series(1, 100) i;
              INSERT INTO keep SELECT i, 'k' || i FROM generate_series(1, 10) i;)");
  ASSERT_TRUE(Converges(tables));
  OnSource("TRUNCATE solo RESTART IDENTITY");
  OnSource("INSERT INTO solo(v) VALUES ('after truncate')");
  OnSource("TRUNCATE parent CASCADE");  // also empties child, in one TRUNCATE message
  OnSource("INSERT INTO parent VALUES (1, 'new'); INSERT INTO child VALUES (1, 1, 'new')");
  // Truncate and refill inside one transaction.
  OnSource("BEGIN; TRUNCATE keep; INSERT INTO keep VALUES (99, 'refilled'); COMMIT;");
  EXPECT_TRUE(Converges(tables));
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM child"), "1");
}

TEST_F(ValuesTest, identity_and_quoted_identifiers) {
  OnBoth(R"(CREATE TABLE items(
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              name text NOT NULL,
              name_len int GENERATED ALWAYS AS (length(name)) STORED);
            CREATE TABLE "Order Items; DROP TABLE items; --"(
              "Order ID" int, "Line" int, "Quantity;" int, "note ""quoted""" text,
              "select" text, "MixedCase" text, PRIMARY KEY ("Order ID", "Line"));
            CREATE SCHEMA "Sales Dept";
            CREATE TABLE "Sales Dept"."Q1 Orders"(
              "ID" int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "Total $" numeric);)");
  spec_.tables = {"public.*", "Sales Dept.*"};
  std::vector<TableComparison> tables = {
      {"items", "id"},
      {R"("Order Items; DROP TABLE items; --")", R"("Order ID", "Line")"},
      {R"("Sales Dept"."Q1 Orders")", R"("ID")"}};
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO items(name) VALUES ('a'), ('bb'), ('ccc');
              INSERT INTO items OVERRIDING SYSTEM VALUE VALUES (1000, 'explicit');
              UPDATE items SET name = 'renamed' WHERE id = 2;
              DELETE FROM items WHERE id = 3;
              INSERT INTO "Order Items; DROP TABLE items; --" VALUES
                (1, 1, 5, 'say "hi"', 'from', 'Mc'), (1, 2, NULL, NULL, NULL, NULL);
              UPDATE "Order Items; DROP TABLE items; --" SET "Quantity;" = 6, "select" = 'where'
                WHERE "Order ID" = 1 AND "Line" = 1;
              INSERT INTO "Order Items; DROP TABLE items; --" VALUES (2, 1, 1, '', '', '');
              DELETE FROM "Order Items; DROP TABLE items; --" WHERE "Order ID" = 2;
              INSERT INTO "Sales Dept"."Q1 Orders"("Total $") VALUES (1.10), (2.20);
              INSERT INTO "Sales Dept"."Q1 Orders" VALUES (100, 3.30);
              DELETE FROM "Sales Dept"."Q1 Orders" WHERE "ID" = 1;)");
  EXPECT_TRUE(Converges(tables));
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM items"), "3");
  EXPECT_EQ(target().QueryValue(db_, "SELECT to_regclass('items') IS NOT NULL"), "t");
}

}  // namespace
}  // namespace stagesync::testing
