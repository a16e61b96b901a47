// `copy`'s MySQL/MariaDB source: consistent-snapshot transactions that all stand at one binlog
// position, and readers that stream key ranges out of them, each value spelled as the binlog
// decoder spells it (the same PostgreSQL types and text), so copied rows look streamed ones.
#include <mysql.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "binlog_decoder.h"
#include "binlog_values.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {
namespace {

using namespace binlog;

// Attempts at opening every reader's snapshot at one binlog position on a busy server.
constexpr int kAlignAttempts = 20;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
using MysqlConn = std::unique_ptr<MYSQL, MysqlCloser>;
struct ResultCloser {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using MysqlResult = std::unique_ptr<MYSQL_RES, ResultCloser>;

Status Error(MYSQL* conn, const std::string& what) {
  std::string text = what + ": " + mysql_error(conn);
  unsigned code = mysql_errno(conn);
  if (code == 2006 || code == 2013) return Status::Transient(text);
  return Status::Error(text);
}

Status Exec(MYSQL* conn, const std::string& sql, const std::string& what) {
  if (mysql_real_query(conn, sql.data(), sql.size())) return Error(conn, what);
  MysqlResult(mysql_store_result(conn));
  return Status::Ok();
}

// Rows of a small query, NULL as "".
Status Query(MYSQL* conn, const std::string& sql, const std::string& what,
             std::vector<std::vector<std::string>>* out) {
  if (mysql_real_query(conn, sql.data(), sql.size())) return Error(conn, what);
  MysqlResult res(mysql_store_result(conn));
  if (!res) return Status::Ok();
  unsigned n = mysql_num_fields(res.get());
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    unsigned long* lengths = mysql_fetch_lengths(res.get());
    auto& r = out->emplace_back();
    for (unsigned i = 0; i < n; ++i) r.emplace_back(row[i] ? std::string(row[i], lengths[i]) : "");
  }
  return Status::Ok();
}

Status Connect(const Config& config, MysqlConn* out) {
  mysql::Endpoint e;
  if (Status s = mysql::ParseDsn(config.source, &e); !s.ok()) return s;
  MysqlConn conn(mysql_init(nullptr));
  mysql_options(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(conn.get(), e.host.c_str(), e.user.c_str(), e.password.c_str(), nullptr,
                          e.port, nullptr, 0)) {
    return Status::Transient("cannot connect to the source " + config.source.RedactedDsn() + ": " +
                             mysql_error(conn.get()));
  }
  for (const char* sql : {"SET SESSION time_zone = '+00:00', net_write_timeout = 600",
                          "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"}) {
    if (Status s = Exec(conn.get(), sql, "source"); !s.ok()) return s;
  }
  *out = std::move(conn);
  return Status::Ok();
}

// How a column is selected and its text turned into the binlog decoder's spelling.
enum class Spell : uint8_t { kAsIs, kFloat, kDouble, kEpoch, kBits, kHex, kLatin1 };

struct ColumnRead {
  std::string select;
  Spell spell = Spell::kAsIs;
  int fsp = 0;   // kEpoch
  int bits = 0;  // kBits
};

// One information_schema.COLUMNS row as the binlog's table map would describe the column.
void MapColumn(const std::vector<std::string>& c, TableMap* map, ColumnRead* read,
               std::string* problem) {
  // c: name, data_type, column_type, numeric_precision, numeric_scale, datetime_precision,
  // character_set_name
  const std::string& name = c[0];
  std::string type = AsciiLower(c[1]), column_type = AsciiLower(c[2]);
  const std::string q = mysql::QuoteIdent(name);
  uint8_t t = kVarchar;
  uint16_t meta = 0;
  uint32_t collation = 0;
  read->select = q;
  auto fsp = [&] { return c[5].empty() ? 0 : std::stoi(c[5]); };
  if (type == "tinyint")
    t = kTiny;
  else if (type == "smallint")
    t = kShort;
  else if (type == "mediumint")
    t = kInt24;
  else if (type == "int" || type == "integer")
    t = kLong;
  else if (type == "bigint")
    t = kLongLong;
  else if (type == "float") {
    t = kFloat;
    read->select = "CAST(" + q + " AS DOUBLE)";  // every digit of it, which DOUBLE's text has
    read->spell = Spell::kFloat;
  } else if (type == "double" || type == "real") {
    t = kDouble;
    read->spell = Spell::kDouble;
  } else if (type == "decimal" || type == "numeric") {
    t = kNewDecimal;
    meta = static_cast<uint16_t>(std::stoi(c[3]) | std::stoi(c[4]) << 8);
  } else if (type == "date")
    t = kDate;
  else if (type == "time") {
    t = kTime2;
    meta = static_cast<uint16_t>(fsp());
  } else if (type == "datetime") {
    t = kDateTime2;
    meta = static_cast<uint16_t>(fsp());
  } else if (type == "timestamp") {
    t = kTimestamp2;
    meta = static_cast<uint16_t>(fsp());
    read->select = "UNIX_TIMESTAMP(" + q + ")";
    read->spell = Spell::kEpoch;
    read->fsp = fsp();
  } else if (type == "year") {
    t = kYear;
    read->select = q + " + 0";
  } else if (type == "bit") {
    t = kBit;
    int n = std::stoi(c[3]);
    meta = static_cast<uint16_t>((n / 8) << 8 | (n % 8));
    read->select = q + " + 0";
    read->spell = Spell::kBits;
    read->bits = n;
  } else if (type == "json" && c[6].empty()) {
    *problem = "column " + name + " is MySQL's binary JSON, which stagesync does not read yet";
    return;
  } else if (type == "enum" || type == "set") {
    t = type == "enum" ? kEnum : kSet;
  } else if (type == "geometry" || type == "point" || type == "linestring" || type == "polygon" ||
             type.rfind("multi", 0) == 0 || type == "geometrycollection") {
    t = kGeometry;
    read->spell = Spell::kHex;
  } else {
    bool blob = type.find("blob") != std::string::npos || type.find("text") != std::string::npos ||
                type == "json";
    t = blob ? kBlob : kVarchar;
    Charset cs = c[6].empty() ? Charset::kBinary : CharsetNamed(c[6]);
    collation = cs == Charset::kBinary ? 63 : 33;
    if (cs == Charset::kBinary) {
      read->spell = Spell::kHex;
    } else if (cs == Charset::kLatin1) {
      read->select = "CAST(" + q + " AS BINARY)";
      read->spell = Spell::kLatin1;
    } else if (cs == Charset::kUnsupported) {
      *problem = "column " + name + " uses character set " + c[6] +
                 ", which stagesync does not read (utf8mb3, utf8mb4, latin1 and binary are)";
      return;
    }
  }
  map->names.push_back(name);
  map->types.push_back(t);
  map->meta.push_back(meta);
  map->is_unsigned.push_back(column_type.find("unsigned") != std::string::npos);
  map->collations.push_back(collation);
}

// A value's text as the binlog decoder writes it; false if it is not what the type says.
bool Respell(const ColumnRead& read, const char* p, unsigned long n, std::string* out) {
  switch (read.spell) {
    case Spell::kAsIs:
      out->assign(p, n);
      return true;
    case Spell::kFloat:
    case Spell::kDouble: {
      std::string text(p, n);
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (end == text.c_str()) return false;
      *out = read.spell == Spell::kFloat ? Shortest(static_cast<float>(d)) : Shortest(d);
      return true;
    }
    case Spell::kEpoch: {
      std::string text(p, n);
      size_t dot = text.find('.');
      uint64_t seconds = std::stoull(text.substr(0, dot)), micros = 0;
      if (dot != std::string::npos) {
        std::string frac = text.substr(dot + 1);
        frac.resize(6, '0');
        micros = std::stoull(frac);
      }
      *out = EpochText(seconds, micros, read.fsp);
      return true;
    }
    case Spell::kBits: {
      uint64_t v = std::stoull(std::string(p, n));
      out->clear();
      for (int b = read.bits - 1; b >= 0; --b) out->push_back((v >> b) & 1 ? '1' : '0');
      return true;
    }
    case Spell::kHex:
      *out = HexBytea(std::string_view(p, n));
      return true;
    case Spell::kLatin1:
      *out = Latin1ToUtf8(std::string_view(p, n));
      return true;
  }
  return false;
}

struct MysqlTable {
  std::vector<ColumnRead> reads;
  int integer_key = -1;  // the column of a one-column integer key, for cutting ranges
};

class MysqlReader : public SnapshotReader {
 public:
  MysqlReader(MysqlConn conn, const std::map<const SourceRelation*, MysqlTable>* tables)
      : conn_(std::move(conn)), tables_(tables) {}

  Status Read(const SnapshotTable& table, const TableRange& range,
              const std::function<Status(Tuple&&, size_t)>& row) override {
    const SourceRelation& rel = *table.relation;
    const MysqlTable& how = tables_->at(&rel);
    std::string cols;
    for (const auto& r : how.reads) cols += (cols.empty() ? "" : ", ") + r.select;
    std::string where;
    if (how.integer_key >= 0) {
      std::string key = mysql::QuoteIdent(rel.columns[how.integer_key].name);
      if (!range.lower.empty()) where += key + " >= " + range.lower;
      if (!range.upper.empty()) where += (where.empty() ? "" : " AND ") + key + " < " + range.upper;
    }
    std::string sql = "SELECT " + cols + " FROM " + mysql::QualifiedIdent(rel.schema, rel.name) +
                      (where.empty() ? "" : " WHERE " + where);
    std::string what = "reading " + rel.QualifiedName() + " from the source";
    if (mysql_real_query(conn_.get(), sql.data(), sql.size())) return Error(conn_.get(), what);
    MysqlResult res(mysql_use_result(conn_.get()));
    if (!res) return Error(conn_.get(), what);
    const unsigned n = mysql_num_fields(res.get());
    Status failed = Status::Ok();
    std::string text;
    while (MYSQL_ROW values = mysql_fetch_row(res.get())) {
      if (!failed.ok()) continue;  // drain what the server sends before the next query
      unsigned long* lengths = mysql_fetch_lengths(res.get());
      Tuple tuple;
      tuple.reserve(n);
      size_t bytes = 0;
      for (unsigned i = 0; i < n; ++i) {
        bytes += lengths[i] + 1;
        if (!values[i]) {
          tuple.push_back(Value::Null());
        } else if (Respell(how.reads[i], values[i], lengths[i], &text)) {
          tuple.push_back(Value::Text(text));
        } else {
          failed = Status::Error(what + ": column " + rel.columns[i].name + " holds \"" +
                                 std::string(values[i], lengths[i]) + "\", which is not a number");
          break;
        }
      }
      if (failed.ok()) failed = row(std::move(tuple), bytes);
    }
    if (mysql_errno(conn_.get())) return Error(conn_.get(), what);
    return failed;
  }

  MYSQL* conn() { return conn_.get(); }

 private:
  MysqlConn conn_;
  const std::map<const SourceRelation*, MysqlTable>* tables_;
};

class MysqlSnapshot : public SourceSnapshot {
 public:
  explicit MysqlSnapshot(const Config& config) : config_(config) {}

  // Opens `n` readers whose consistent snapshots all stand at one binlog position: MariaDB
  // tells each transaction's position (binlog_snapshot_file/position) without any lock, so
  // they are started together and started again until they agree (at worst, fewer readers).
  // Oracle MySQL has no such status: a global read lock is held for the moment the readers
  // start and the position is read. (Not tested here: no MySQL server can be installed.)
  Status Open(int n) {
    std::vector<MysqlConn> conns(n);
    for (auto& c : conns) {
      if (Status s = Connect(config_, &c); !s.ok()) return s;
    }
    std::vector<std::vector<std::string>> status;
    if (Status s = Query(conns[0].get(), "SHOW SESSION STATUS LIKE 'binlog_snapshot_file'",
                         "source", &status);
        !s.ok()) {
      return s;
    }
    if (status.empty()) return OpenLocked(std::move(conns));
    for (int attempt = 0;; ++attempt) {
      std::vector<std::string> positions(n);
      std::vector<Status> started(n, Status::Ok());
      std::vector<std::thread> threads;
      for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
          MYSQL* c = conns[i].get();
          started[i] = Exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "source");
          std::vector<std::vector<std::string>> rows;
          if (started[i].ok()) {
            started[i] = Query(c, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'", "source", &rows);
          }
          for (auto& r : rows) positions[i] += r[1] + ":";
        });
      }
      for (auto& t : threads) t.join();
      for (const auto& s : started) {
        if (!s.ok()) return s;
      }
      std::map<std::string, int> groups;
      for (const auto& p : positions) groups[p]++;
      auto best = std::max_element(groups.begin(), groups.end(),
                                   [](auto& a, auto& b) { return a.second < b.second; });
      if (best->second == n || attempt + 1 >= kAlignAttempts) {
        for (int i = 0; i < n; ++i) {
          if (positions[i] == best->first) keep_.push_back(std::move(conns[i]));
        }
        if (best->second < n) {
          LOG_WARN("copy: the source commits too often for " << n << " snapshots to start at one "
                                                             << "position; copying with "
                                                             << best->second);
        }
        return SetPosition(keep_.front().get());
      }
      for (auto& c : conns) {
        if (Status s = Exec(c.get(), "ROLLBACK", "source"); !s.ok()) return s;
      }
    }
  }

  Status OpenLocked(std::vector<MysqlConn> conns) {
    MYSQL* lock = conns[0].get();
    if (Status s = Exec(lock, "FLUSH TABLES WITH READ LOCK", "source: FLUSH TABLES WITH READ LOCK");
        !s.ok()) {
      return s;
    }
    Status s = Status::Ok();
    for (auto& c : conns) {
      if (s.ok()) s = Exec(c.get(), "START TRANSACTION WITH CONSISTENT SNAPSHOT", "source");
    }
    std::vector<std::vector<std::string>> master;
    if (s.ok()) s = Query(lock, "SHOW MASTER STATUS", "source", &master);
    Exec(lock, "UNLOCK TABLES", "source");
    if (!s.ok()) return s;
    if (master.empty()) return Status::Usage("source: binary logging is off (log_bin)");
    for (auto& c : conns) keep_.push_back(std::move(c));
    return Parse(master[0][0], master[0][1]);
  }

  Status SetPosition(MYSQL* conn) {
    std::vector<std::vector<std::string>> rows;
    if (Status s = Query(conn, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'", "source", &rows);
        !s.ok()) {
      return s;
    }
    std::string file, pos;
    for (auto& r : rows) {
      if (AsciiLower(r[0]) == "binlog_snapshot_file") file = r[1];
      if (AsciiLower(r[0]) == "binlog_snapshot_position") pos = r[1];
    }
    if (file.empty()) return Status::Usage("source: binary logging is off (log_bin)");
    return Parse(file, pos);
  }

  Status Parse(const std::string& file, const std::string& pos) {
    SetBinlogBaseName(file);
    position_ =
        mysql::PositionFrom(mysql::FileSequence(file), static_cast<uint32_t>(std::stoul(pos)));
    id_ = file + ":" + pos;
    file_ = file;
    return Status::Ok();
  }

  // The stream starts at the snapshot: `capture` and `run` read it from the source's record.
  Status RecordStart() {
    return RecordMysqlStartPosition(config_, file_, static_cast<uint32_t>(position_ & 0xffffffffu));
  }

  const std::string& id() const override { return id_; }
  Lsn position() const override { return position_; }

  Status Tables(std::vector<SnapshotTable>* out) override {
    MYSQL* conn = keep_.front().get();
    std::vector<std::vector<std::string>> tables;
    if (Status s = Query(conn,
                         "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0), "
                         "COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES WHERE "
                         "TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', "
                         "'information_schema', 'performance_schema', 'sys', 'stagesync') "
                         "ORDER BY 1, 2",
                         "listing the source's tables", &tables);
        !s.ok()) {
      return s;
    }
    for (const auto& t : tables) {
      if (!Selected(config_, t[0] + "." + t[1])) continue;
      if (Status s = Describe(conn, t, out); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Describe(MYSQL* conn, const std::vector<std::string>& t, std::vector<SnapshotTable>* out) {
    const std::string where = "TABLE_SCHEMA = " + mysql::QuoteLiteral(t[0]) +
                              " AND TABLE_NAME = " + mysql::QuoteLiteral(t[1]);
    std::vector<std::vector<std::string>> cols, keys;
    Status s = Query(conn,
                     "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(NUMERIC_PRECISION, ''), "
                     "COALESCE(NUMERIC_SCALE, ''), COALESCE(DATETIME_PRECISION, ''), "
                     "COALESCE(CHARACTER_SET_NAME, ''), IS_NULLABLE, COALESCE(COLUMN_DEFAULT, ''), "
                     "EXTRA LIKE '%auto_increment%' FROM "
                     "information_schema.COLUMNS WHERE " +
                         where + " ORDER BY ORDINAL_POSITION",
                     "reading " + t[0] + "." + t[1], &cols);
    // The key as capture takes it: the primary key, else the first unique key of NOT NULL
    // columns.
    if (s.ok()) {
      s = Query(
          conn,
          "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE " + where +
              " AND NON_UNIQUE = 0 ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
          "reading " + t[0] + "." + t[1] + "'s keys", &keys);
    }
    if (!s.ok()) return s;
    TableMap map;
    map.database = t[0];
    map.table = t[1];
    MysqlTable how;
    TableDefinition definition;
    definition.source = Engine::kMysql;
    std::map<std::string, bool> nullable;
    for (const auto& c : cols) {
      ColumnRead read;
      std::string problem;
      MapColumn(c, &map, &read, &problem);
      if (!problem.empty()) return Status::Usage(t[0] + "." + t[1] + ": " + problem);
      how.reads.push_back(std::move(read));
      nullable[c[0]] = c[7] == "YES";
      // MariaDB spells a default as SQL ('text', 12, NULL, current_timestamp()).
      definition.columns.push_back(
          ColumnDefinition{c[2], c[7] == "YES", c[8] == "NULL" ? "" : c[8], c[9] == "1"});
    }
    std::vector<std::string> key;
    for (size_t i = 0; i < keys.size();) {
      size_t j = i;
      std::vector<std::string> index;
      bool usable = true;
      for (; j < keys.size() && keys[j][0] == keys[i][0]; ++j) {
        index.push_back(keys[j][1]);
        usable = usable && !nullable[keys[j][1]];
      }
      if (usable) {
        key = index;
        break;
      }
      i = j;
    }
    auto rel = std::make_shared<SourceRelation>();
    rel->schema = t[0];
    rel->name = t[1];
    rel->replica_identity = key.empty() ? 'f' : 'd';
    for (size_t i = 0; i < map.names.size(); ++i) {
      SourceColumn c;
      c.name = map.names[i];
      c.type_oid = PostgresTypeFor(map, i);
      c.type_modifier = PostgresTypmodFor(map, i);
      c.part_of_key = std::find(key.begin(), key.end(), c.name) != key.end();
      rel->columns.push_back(std::move(c));
    }
    if (key.size() == 1) {
      for (size_t i = 0; i < map.names.size(); ++i) {
        uint8_t type = map.types[i];
        if (map.names[i] == key[0] && (type == kTiny || type == kShort || type == kInt24 ||
                                       type == kLong || type == kLongLong)) {
          how.integer_key = static_cast<int>(i);
        }
      }
    }
    tables_[rel.get()] = std::move(how);
    if (!keys.empty() && keys[0][0] == "PRIMARY") definition.primary_key = key;
    out->push_back(SnapshotTable{rel, std::stoll(t[2]), std::stoll(t[3]), std::move(definition)});
    return Status::Ok();
  }

  Status Split(const SnapshotTable& table, int parts, std::vector<TableRange>* out) override {
    const MysqlTable& how = tables_.at(table.relation.get());
    int64_t n =
        std::min<int64_t>(parts, std::max<int64_t>(1, (table.bytes + config_.copy.part_bytes - 1) /
                                                          config_.copy.part_bytes));
    if (how.integer_key < 0 || n <= 1) {
      out->push_back(TableRange{0, 1, "", ""});
      return Status::Ok();
    }
    const std::string key = mysql::QuoteIdent(table.relation->columns[how.integer_key].name);
    std::vector<std::vector<std::string>> bounds;
    if (Status s = Query(keep_.front().get(),
                         "SELECT CAST(MIN(" + key + ") AS DECIMAL(20,0)), CAST(MAX(" + key +
                             ") AS DECIMAL(20,0)) FROM " +
                             mysql::QualifiedIdent(table.relation->schema, table.relation->name),
                         "cutting " + table.relation->QualifiedName() + " into ranges", &bounds);
        !s.ok()) {
      return s;
    }
    if (bounds.empty() || bounds[0][0].empty()) {
      out->push_back(TableRange{0, 1, "", ""});
      return Status::Ok();
    }
    // Long double holds every 64-bit key exactly enough for cutting points.
    long double lo = std::stold(bounds[0][0]), hi = std::stold(bounds[0][1]);
    for (int64_t i = 0; i < n; ++i) {
      auto cut = [&](int64_t k) {
        char text[40];
        std::snprintf(text, sizeof text, "%.0Lf", std::floor(lo + (hi - lo + 1) * k / n));
        return std::string(text);
      };
      out->push_back(TableRange{static_cast<int>(i), static_cast<int>(n), i == 0 ? "" : cut(i),
                                i == n - 1 ? "" : cut(i + 1)});
    }
    return Status::Ok();
  }

  std::vector<SnapshotReader*> Readers() override {
    if (readers_.empty()) {
      for (auto& c : keep_)
        readers_.push_back(std::make_unique<MysqlReader>(std::move(c), &tables_));
      keep_.clear();
    }
    std::vector<SnapshotReader*> out;
    for (auto& r : readers_) out.push_back(r.get());
    return out;
  }

  void Release() override { readers_.clear(); }

 private:
  const Config& config_;
  std::string id_, file_;
  Lsn position_ = 0;
  std::vector<MysqlConn> keep_;  // until Readers() hands them out
  std::vector<std::unique_ptr<MysqlReader>> readers_;
  std::map<const SourceRelation*, MysqlTable> tables_;
};

}  // namespace

Status TakeMysqlSnapshot(const Config& config, int readers, std::unique_ptr<SourceSnapshot>* out) {
  auto snapshot = std::make_unique<MysqlSnapshot>(config);
  if (Status s = snapshot->Open(readers); !s.ok()) return s;
  if (Status s = snapshot->RecordStart(); !s.ok()) return s;
  LOG_INFO("copy: snapshot at binlog position " << snapshot->id());
  *out = std::move(snapshot);
  return Status::Ok();
}

Status ResumeMysqlSnapshot(const Config&, const std::string& id, Lsn, int,
                           std::unique_ptr<SourceSnapshot>*) {
  return Status::Usage("the source no longer holds snapshot " + id +
                       " (a MySQL/MariaDB snapshot lives only as long as the copy that took it)");
}

}  // namespace stagesync::capture
