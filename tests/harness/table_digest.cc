// Digests and row differences of tables.
#include "table_digest.h"

#include <algorithm>
#include <map>

namespace stagesync::testing {
namespace {

std::string SelectSql(const std::string& table, const std::string& select_list) {
  return "(SELECT " + select_list + " FROM " + table + ") t";
}

std::string Cut(const std::string& s) {
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

}  // namespace

std::string TableDigest(const PgCluster& cluster, const std::string& db, const std::string& table,
                        const std::string& order_by, const std::string& select_list) {
  Rows rows =
      cluster.Query(db, "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY " +
                            order_by + "), '')) FROM " + SelectSql(table, select_list));
  return rows.at(0).at(0).value_or("?") + ":" + rows.at(0).at(1).value_or("?");
}

std::string DescribeDifference(const PgCluster& source, const std::string& source_db,
                               const PgCluster& target, const std::string& target_db,
                               const TableComparison& c, size_t max_lines) {
  std::string target_table = c.target_table.empty() ? c.source_table : c.target_table;
  std::string target_select = c.target_select.empty() ? c.source_select : c.target_select;
  auto fetch = [&](const PgCluster& cluster, const std::string& db, const std::string& table,
                   const std::string& select_list) {
    std::map<std::string, int> lines;
    for (const Row& r : cluster.Query(db, "SELECT t::text FROM " + SelectSql(table, select_list))) {
      ++lines[r.at(0).value_or("<NULL>")];
    }
    return lines;
  };
  std::map<std::string, int> src, dst;
  try {
    src = fetch(source, source_db, c.source_table, c.source_select);
    dst = fetch(target, target_db, target_table, target_select);
  } catch (const std::exception& e) {
    return "cannot compare " + c.source_table + ": " + e.what();
  }
  return DescribeLineDifference(src, dst, c.source_table + " differs: source ",
                                " rows, target " + target_table + " ", max_lines);
}

std::string DescribeLineDifference(const std::map<std::string, int>& src,
                                   const std::map<std::string, int>& dst,
                                   const std::string& source_label, const std::string& target_label,
                                   size_t max_lines) {
  if (src == dst) return "";
  size_t src_rows = 0, dst_rows = 0;
  for (auto& [k, n] : src) src_rows += n;
  for (auto& [k, n] : dst) dst_rows += n;
  std::string out =
      source_label + std::to_string(src_rows) + target_label + std::to_string(dst_rows) + " rows\n";
  auto only_in = [&](const std::map<std::string, int>& a, const std::map<std::string, int>& b,
                     const std::string& side) {
    size_t shown = 0;
    for (auto& [line, n] : a) {
      auto it = b.find(line);
      int m = it == b.end() ? 0 : it->second;
      if (n > m && shown++ < max_lines) {
        out += "  only in " + side + " (x" + std::to_string(n - m) + "): " + Cut(line) + "\n";
      }
    }
  };
  only_in(src, dst, "source");
  only_in(dst, src, "target");
  return out;
}

}  // namespace stagesync::testing
