// The MySQL binlog stream's table maps and rows events: a table map becomes the source
// relation (with its key), each row image in a rows event a row change.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>

#include "mysql_capture.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {

namespace {

using binlog::Charset;
using binlog::RowsEvent;
using binlog::RowsKind;
using binlog::TableMap;

}  // namespace

Status BinlogStream::OnTableMap(std::string_view body) {
  TableMap map;
  if (Status s = binlog::ParseTableMap(body, PostHeaderLen(kTableMapEvent), &map); !s.ok())
    return s;
  const std::string qualified = map.database + "." + map.table;
  bool heartbeat = map.database == kSourceSchema && map.table == kHeartbeatTable;
  if (!heartbeat && !Selected(config_, qualified)) {
    maps_.erase(map.table_id);
    return Status::Ok();
  }
  if (!map.has_names()) {
    return Status::Error("binlog: the table map of " + qualified +
                         " has no column names: SET GLOBAL binlog_row_metadata = 'FULL'");
  }
  std::string signature(map.types.begin(), map.types.end());
  for (size_t i = 0; i < map.names.size(); ++i) {
    signature += "|" + map.names[i] + ":" + std::to_string(map.meta[i]) + ":" +
                 std::to_string(map.collations[i]) + (map.is_unsigned[i] ? "u" : "");
  }
  for (int k : map.primary_key) signature += "#" + std::to_string(k);
  auto& known = tables_[qualified];
  if (known.signature != signature) {
    auto rel = std::make_shared<SourceRelation>();
    rel->id = ++relation_ids_;
    rel->schema = map.database;
    rel->name = map.table;
    std::vector<int> key = map.primary_key;
    if (key.empty()) key = UniqueKey(map);
    rel->replica_identity = key.empty() ? 'f' : 'd';
    for (size_t i = 0; i < map.names.size(); ++i) {
      SourceColumn c;
      c.name = map.names[i];
      c.type_oid = binlog::PostgresTypeFor(map, i);
      c.type_modifier = binlog::PostgresTypmodFor(map, i);
      c.part_of_key = std::find(key.begin(), key.end(), static_cast<int>(i)) != key.end();
      rel->columns.push_back(std::move(c));
    }
    if (!known.signature.empty()) {
      LOG_INFO("capture: " << qualified << " changed shape on the source; now "
                           << rel->columns.size() << " columns");
    }
    known.signature = std::move(signature);
    known.relation = std::move(rel);
  }
  maps_[map.table_id] = {std::move(map), known.relation};
  return Status::Ok();
}

std::vector<int> BinlogStream::UniqueKey(const TableMap& map) {
  std::vector<int> key;
  try {
    std::unique_ptr<sql::PreparedStatement> st(sql_->prepareStatement(
        "SELECT s.INDEX_NAME, s.COLUMN_NAME FROM information_schema.STATISTICS s WHERE "
        "s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 AND NOT EXISTS (SELECT 1 "
        "FROM information_schema.STATISTICS n JOIN information_schema.COLUMNS c USING "
        "(TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME) WHERE n.TABLE_SCHEMA = s.TABLE_SCHEMA AND "
        "n.TABLE_NAME = s.TABLE_NAME AND n.INDEX_NAME = s.INDEX_NAME AND c.IS_NULLABLE = "
        "'YES') ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX"));
    st->setString(1, map.database);
    st->setString(2, map.table);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    std::string index;
    while (rs->next()) {
      std::string name = rs->getString(1).asStdString();
      if (!index.empty() && name != index) break;
      index = name;
      std::string column = rs->getString(2).asStdString();
      int i =
          FindName(map.names, column, [](const std::string& n) -> const std::string& { return n; });
      if (i >= 0) key.push_back(i);
    }
  } catch (const sql::SQLException& e) {
    LOG_WARN("capture: reading the unique keys of " << map.database << "." << map.table << ": "
                                                    << mysql::Describe(e));
  }
  return key;
}

Status BinlogStream::OnRows(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body,
                            uint32_t begin) {
  RowsEvent rows;
  if (Status s = binlog::ParseRowsEvent(type, body, PostHeaderLen(type), &rows); !s.ok()) return s;
  auto it = maps_.find(rows.table_id);
  if (it == maps_.end()) return Status::Ok();  // a table we do not capture
  const auto& [map, relation] = it->second;
  if (!in_group_) {
    // No GTID event before it (an old server without GTIDs): the group starts here.
    in_group_ = true;
    group_start_ = mysql::PositionFrom(file_sequence_, begin);
    group_time_ = static_cast<TimestampUs>(ev.timestamp) * 1000000;
    group_server_id_ = ev.server_id;
  }
  EnsureBegun();
  const Lsn lsn = mysql::PositionFrom(file_sequence_, begin);
  auto lookup = [this](uint32_t id) {
    auto c = charsets_.find(id);
    return c == charsets_.end() ? Charset::kUnsupported : c->second;
  };
  std::string_view data = rows.rows;
  for (uint32_t row = 0; !data.empty(); ++row) {
    RowChange c;
    c.relation = relation;
    c.lsn = lsn;
    c.row = row;
    c.old_is_key_only = false;
    Status s;
    switch (rows.kind) {
      case RowsKind::kWrite:
        c.op = RowOp::kInsert;
        s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.new_tuple);
        break;
      case RowsKind::kUpdate:
        c.op = RowOp::kUpdate;
        s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.old_tuple);
        if (s.ok()) s = binlog::DecodeRow(map, rows.present_after, lookup, &data, &c.new_tuple);
        break;
      case RowsKind::kDelete:
        c.op = RowOp::kDelete;
        s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.old_tuple);
        break;
    }
    if (!s.ok()) {
      return Status::Error(s.message() + " at " + mysql::FormatPosition(any_file_, lsn));
    }
    pending_.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace stagesync::capture
