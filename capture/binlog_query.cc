#include "binlog_query.h"

#include <cctype>

#include "stagesync/config.h"

namespace stagesync::capture::binlog {
namespace {

// Reads a statement's first few tokens the way the server's lexer does, as far as
// ClassifyQuery needs: keywords, identifiers, '.', and what counts as space between them.
class Lexer {
 public:
  explicit Lexer(std::string_view sql) : sql_(sql) {}

  // The next keyword, lower-cased; "" when the next token is not a word.
  std::string Word() {
    SkipSpace();
    size_t n = 0;
    while (n < sql_.size() && (std::isalnum(static_cast<unsigned char>(sql_[n])) || sql_[n] == '_'))
      ++n;
    std::string w = AsciiLower(std::string(sql_.substr(0, n)));
    sql_.remove_prefix(n);
    return w;
  }

  // Takes `c` if it is the next token.
  bool Take(char c) {
    SkipSpace();
    if (sql_.empty() || sql_.front() != c) return false;
    sql_.remove_prefix(1);
    return true;
  }

  // The next identifier: unquoted (letters, digits, '_', '$' and any byte of a multi-byte
  // character), `backquoted` or, under sql_mode ANSI_QUOTES, "double-quoted"; a doubled quote
  // inside is one quote of the name. "" when the next token is none.
  std::string Identifier() {
    SkipSpace();
    std::string name;
    if (!sql_.empty() && (sql_.front() == '`' || sql_.front() == '"')) {
      const char quote = sql_.front();
      sql_.remove_prefix(1);
      while (!sql_.empty()) {
        char c = sql_.front();
        sql_.remove_prefix(1);
        if (c != quote) {
          name += c;
        } else if (!sql_.empty() && sql_.front() == quote) {
          name += quote;
          sql_.remove_prefix(1);
        } else {
          break;
        }
      }
      return name;
    }
    while (!sql_.empty()) {
      unsigned char c = static_cast<unsigned char>(sql_.front());
      if (!std::isalnum(c) && c != '_' && c != '$' && c < 0x80) break;
      name += sql_.front();
      sql_.remove_prefix(1);
    }
    return name;
  }

 private:
  // Whitespace and comments: /* ... */, "-- " and '#' to the end of the line. Clients keep
  // comments (an ORM's "/* app=... */ TRUNCATE ..."), and the binlog holds the statement as
  // sent. An executable comment (/*!, /*!40000, MariaDB's /*M!100101) is code to the server,
  // so only its markers are skipped.
  void SkipSpace() {
    while (!sql_.empty()) {
      if (std::isspace(static_cast<unsigned char>(sql_.front()))) {
        sql_.remove_prefix(1);
      } else if (sql_.starts_with("/*!") || sql_.starts_with("/*M!")) {
        sql_.remove_prefix(sql_[2] == '!' ? 3 : 4);
        while (!sql_.empty() && std::isdigit(static_cast<unsigned char>(sql_.front())))
          sql_.remove_prefix(1);
        ++executable_;
      } else if (executable_ > 0 && sql_.starts_with("*/")) {
        sql_.remove_prefix(2);
        --executable_;
      } else if (sql_.starts_with("/*")) {
        size_t end = sql_.find("*/", 2);
        sql_.remove_prefix(end == std::string_view::npos ? sql_.size() : end + 2);
      } else if (sql_.front() == '#' ||
                 (sql_.starts_with("--") &&
                  (sql_.size() == 2 || std::isspace(static_cast<unsigned char>(sql_[2])) ||
                   std::iscntrl(static_cast<unsigned char>(sql_[2]))))) {
        size_t end = sql_.find('\n');
        sql_.remove_prefix(end == std::string_view::npos ? sql_.size() : end + 1);
      } else {
        break;
      }
    }
  }

  std::string_view sql_;
  int executable_ = 0;  // open executable comments
};

}  // namespace

QueryKind ClassifyQuery(std::string_view sql, TruncatedTable* truncated) {
  Lexer lexer(sql);
  std::string first = lexer.Word();
  if (first == "begin") return QueryKind::kBegin;
  if (first == "commit") return QueryKind::kCommit;
  // The binlog keeps a transaction's SAVEPOINT (and, when it changed a non-transactional
  // table, its ROLLBACK TO) among its rows: they are no boundary.
  if (first == "savepoint" || first == "release") return QueryKind::kWithinTransaction;
  if (first == "rollback") {
    std::string next = lexer.Word();
    if (next == "work") next = lexer.Word();
    return next == "to" ? QueryKind::kWithinTransaction : QueryKind::kCommit;
  }
  if (first == "xa") {
    // XA START x, rows, XA END x, then an XA_PREPARE event (or, for ONE PHASE, an XID one);
    // XA COMMIT x or XA ROLLBACK x come later, in a group of their own.
    std::string verb = lexer.Word();
    if (verb == "start" || verb == "begin") return QueryKind::kBegin;
    if (verb == "commit" || verb == "rollback") return QueryKind::kCommit;
    return QueryKind::kWithinTransaction;
  }
  if (first != "truncate") return QueryKind::kOther;
  Lexer after_table = lexer;
  if (after_table.Word() == "table") lexer = after_table;
  *truncated = TruncatedTable{};
  std::string name = lexer.Identifier();
  if (!name.empty() && lexer.Take('.')) {
    truncated->schema = std::move(name);
    name = lexer.Identifier();
  }
  truncated->table = std::move(name);
  return QueryKind::kTruncate;
}

}  // namespace stagesync::capture::binlog
