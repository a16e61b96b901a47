// verify's report at its edges: the JSON of `verify --json` and the table a terminal shows.
#include <cstdio>
#include <sstream>

#include "stagesync/verify.h"

namespace stagesync::verify {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string VerifyJson(const VerifyReport& report) {
  std::ostringstream out;
  out << "{\"equal\":" << (report.equal() ? "true" : "false") << ",\"tables\":[";
  for (size_t i = 0; i < report.tables.size(); ++i) {
    const TableVerdict& t = report.tables[i];
    out << (i ? "," : "") << "{\"source\":" << JsonString(t.source_table)
        << ",\"target\":" << (t.target_table.empty() ? "null" : JsonString(t.target_table))
        << ",\"source_rows\":" << t.source_rows << ",\"target_rows\":" << t.target_rows
        << ",\"checksum\":"
        << (t.checksummed ? (t.checksum_equal ? "\"equal\"" : "\"different\"") : "null")
        << ",\"differences\":[";
    for (size_t d = 0; d < t.differences.size(); ++d) {
      out << (d ? "," : "") << JsonString(t.differences[d]);
    }
    out << "]";
    if (!t.note.empty()) out << ",\"note\":" << JsonString(t.note);
    if (!t.error.empty()) out << ",\"error\":" << JsonString(t.error);
    out << "}";
  }
  out << "]}";
  return out.str();
}

std::string VerifyText(const VerifyReport& report) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-40s %12s %12s  %s\n", "table", "source", "target", "result");
  out << line;
  for (const TableVerdict& t : report.tables) {
    bool same =
        t.error.empty() && t.source_rows == t.target_rows && (!t.checksummed || t.checksum_equal);
    std::string result = !t.error.empty() ? "ERROR: " + t.error
                         : same ? (t.checksummed ? "equal (rows and content)" : "equal (rows)")
                                : "DIFFERENT";
    std::snprintf(line, sizeof line, "%-40s %12lld %12lld  ", t.source_table.c_str(),
                  static_cast<long long>(t.source_rows), static_cast<long long>(t.target_rows));
    out << line << result << (t.note.empty() ? "" : " (" + t.note + ")") << "\n";
    for (const auto& d : t.differences) out << "    " << d << "\n";
  }
  out << (report.equal() ? "all tables equal\n" : "differences found\n");
  return out.str();
}

}  // namespace stagesync::verify
