#include "binlog_query.h"

#include <cctype>

#include "stagesync/config.h"

namespace stagesync::capture::binlog {

QueryKind ClassifyQuery(std::string_view sql, std::string* truncated_table) {
  auto skip_space = [&] {
    while (!sql.empty() && std::isspace(static_cast<unsigned char>(sql.front())))
      sql.remove_prefix(1);
  };
  auto word = [&] {
    skip_space();
    size_t n = 0;
    while (n < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[n])) || sql[n] == '_'))
      ++n;
    std::string w = AsciiLower(std::string(sql.substr(0, n)));
    sql.remove_prefix(n);
    return w;
  };
  std::string first = word();
  if (first == "begin" || first == "xa") return QueryKind::kBegin;
  if (first == "commit" || first == "rollback") return QueryKind::kCommit;
  if (first != "truncate") return QueryKind::kOther;
  skip_space();
  std::string_view save = sql;
  if (word() != "table") sql = save;
  skip_space();
  // An identifier, possibly qualified and `quoted`.
  std::string name;
  while (!sql.empty()) {
    if (sql.front() == '`') {
      sql.remove_prefix(1);
      while (!sql.empty()) {
        if (sql.front() == '`') {
          if (sql.size() > 1 && sql[1] == '`') {
            name += '`';
            sql.remove_prefix(2);
            continue;
          }
          sql.remove_prefix(1);
          break;
        }
        name += sql.front();
        sql.remove_prefix(1);
      }
    } else if (sql.front() == '.' || std::isalnum(static_cast<unsigned char>(sql.front())) ||
               sql.front() == '_' || sql.front() == '$') {
      name += sql.front();
      sql.remove_prefix(1);
    } else {
      break;
    }
  }
  *truncated_table = name;
  return QueryKind::kTruncate;
}

}  // namespace stagesync::capture::binlog
