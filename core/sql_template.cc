// Rule SQL split at its `:name` parameters (see upgrade_rules.h).
#include <cctype>

#include "stagesync/upgrade_rules.h"

namespace stagesync {
namespace {

bool IdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

// The end (one past) of the quoted run opening at text[i] with `quote`, a doubled quote
// standing for itself; npos when it never closes. `backslash`: \x escapes (E'...').
size_t QuotedEnd(const std::string& text, size_t i, char quote, bool backslash) {
  for (size_t j = i + 1; j < text.size(); ++j) {
    if (backslash && text[j] == '\\') {
      ++j;
    } else if (text[j] == quote) {
      if (j + 1 < text.size() && text[j + 1] == quote) {
        ++j;
      } else {
        return j + 1;
      }
    }
  }
  return std::string::npos;
}

// A PostgreSQL dollar-quoted string opening at text[i] ($$ or $tag$): its end, npos when it
// never closes, 0 when text[i] opens none.
size_t DollarQuotedEnd(const std::string& text, size_t i) {
  size_t j = i + 1;
  while (j < text.size() && IdentChar(text[j]) && text[j] != '$') ++j;
  if (j >= text.size() || text[j] != '$') return 0;
  if (j > i + 1 && std::isdigit(static_cast<unsigned char>(text[i + 1]))) return 0;  // $1
  std::string tag = text.substr(i, j - i + 1);
  size_t close = text.find(tag, j + 1);
  return close == std::string::npos ? std::string::npos : close + tag.size();
}

}  // namespace

std::string SqlTemplate::Render(const std::function<std::string(size_t)>& bind) const {
  std::string out = pieces.empty() ? std::string() : pieces[0];
  for (size_t i = 0; i < params.size(); ++i) {
    out += bind(i);
    out += pieces[i + 1];
  }
  return out;
}

Status ParseSqlTemplate(const std::string& text, SqlTemplate* out) {
  SqlTemplate t;
  t.text = text;
  std::string piece;
  auto unterminated = [&](const char* what, size_t at) {
    return Status::Usage(std::string("unterminated ") + what + " starting at character " +
                         std::to_string(at + 1) + ": close it");
  };
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    size_t end = 0;
    if (c == '\'' || c == '"' || c == '`') {
      bool escapes = c == '\'' && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e') &&
                     (i < 2 || !IdentChar(text[i - 2]));
      end = QuotedEnd(text, i, c, escapes);
      if (end == std::string::npos) {
        return unterminated(c == '\'' ? "string literal" : "quoted identifier", i);
      }
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      end = text.find('\n', i);
      if (end == std::string::npos) end = text.size();
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      end = text.find("*/", i + 2);
      if (end == std::string::npos) return unterminated("comment", i);
      end += 2;
    } else if (c == '$' && (i == 0 || !IdentChar(text[i - 1]))) {
      end = DollarQuotedEnd(text, i);
      if (end == std::string::npos) return unterminated("dollar-quoted string", i);
    } else if (c == ':' && i + 1 < text.size() && text[i + 1] == ':') {
      end = i + 2;  // a cast
    } else if (c == ':' && i + 1 < text.size() && (IdentStart(text[i + 1]) || text[i + 1] == '"')) {
      std::string name;
      if (text[i + 1] == '"') {
        end = QuotedEnd(text, i + 1, '"', false);
        if (end == std::string::npos) return unterminated("quoted parameter name", i);
        for (size_t j = i + 2; j + 1 < end; ++j) {
          name += text[j];
          if (text[j] == '"') ++j;  // "" stands for "
        }
      } else {
        end = i + 1;
        while (end < text.size() && IdentChar(text[end])) ++end;
        name = text.substr(i + 1, end - i - 1);
      }
      t.pieces.push_back(std::move(piece));
      piece.clear();
      t.params.push_back(std::move(name));
      i = end;
      continue;
    }
    if (end == 0) end = i + 1;
    piece.append(text, i, end - i);
    i = end;
  }
  t.pieces.push_back(std::move(piece));
  *out = std::move(t);
  return Status::Ok();
}

}  // namespace stagesync
