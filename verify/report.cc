// verify's report at its edges: the JSON of `verify --json` and the table a terminal shows.
#include <cstdio>
#include <sstream>

#include "stagesync/json.h"
#include "stagesync/verify.h"

namespace stagesync::verify {

std::string VerifyJson(const VerifyReport& report) {
  json::Writer w;
  w.StartObject().Key("equal").Bool(report.equal()).Key("tables").StartArray();
  for (const TableVerdict& t : report.tables) {
    w.StartObject();
    w.Key("source").String(t.source_table).Key("target").StringOrNull(t.target_table);
    w.Key("source_rows").Int(t.source_rows).Key("target_rows").Int(t.target_rows);
    w.Key("checksum");
    if (t.checksummed) {
      w.String(t.checksum_equal ? "equal" : "different");
    } else {
      w.Null();
    }
    w.Key("differences").StartArray();
    for (const auto& d : t.differences) w.String(d);
    w.EndArray();
    if (!t.note.empty()) w.Key("note").String(t.note);
    if (!t.error.empty()) w.Key("error").String(t.error);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.str();
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
