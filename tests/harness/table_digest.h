// Comparing tables between the source and the target database, row by row.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pg_cluster.h"

namespace stagesync::testing {

// "<row count>:<md5>" of `string_agg(t::text, E'\n' ORDER BY order_by)` over
// `SELECT select_list FROM table`. `table` is SQL text (quote identifiers yourself);
// `order_by` names columns of the select list. Equal digests mean equal rows, value for
// value in text form, which for PostgreSQL's output functions is exact (floats print
// round-trip exactly, numerics keep their scale, NaN/Infinity/-0 are distinct).
std::string TableDigest(const PgCluster& cluster, const std::string& db, const std::string& table,
                        const std::string& order_by, const std::string& select_list = "*");

// One table to compare; the target side defaults to the source side.
struct TableComparison {
  TableComparison(std::string source, std::string order, std::string target = "",
                  std::string select_source = "*", std::string select_target = "")
      : source_table(std::move(source)),
        order_by(std::move(order)),
        target_table(std::move(target)),
        source_select(std::move(select_source)),
        target_select(std::move(select_target)) {}
  std::string source_table;
  std::string order_by;
  std::string target_table;  // empty: same as source_table
  std::string source_select = "*";
  std::string target_select;  // empty: same as source_select
};

// A human-readable account of how the two sides of `c` differ (counts, and up to
// `max_lines` rows present on only one side, each cut to 300 characters); empty if equal.
std::string DescribeDifference(const PgCluster& source, const std::string& source_db,
                               const PgCluster& target, const std::string& target_db,
                               const TableComparison& c, size_t max_lines = 6);

// The same account for two multisets of rows as text (row -> how often it occurs), headed
// `<source_label><source rows><target_label><target rows> rows`.
std::string DescribeLineDifference(const std::map<std::string, int>& source,
                                   const std::map<std::string, int>& target,
                                   const std::string& source_label, const std::string& target_label,
                                   size_t max_lines = 6);

}  // namespace stagesync::testing
