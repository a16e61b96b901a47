// The cutover's report at its edges: the contract's words for states, the JSON that `status`,
// the monitor and `cutover --json` show, and the text for a terminal.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <sstream>

#include "report_format.h"
#include "stagesync/cutover.h"

namespace stagesync::cutover {

std::string ThreeDecimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

const char* StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kPending:
      return "pending";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kOk:
      return "ok";
    case StepStatus::kFailed:
      return "failed";
    case StepStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

const char* CutoverStateName(CutoverState state) {
  switch (state) {
    case CutoverState::kRunning:
      return "running";
    case CutoverState::kFenced:
      return "fenced";
    case CutoverState::kFailed:
      return "failed";
    case CutoverState::kDone:
      return "done";
    case CutoverState::kDryRunDone:
      return "dry_run_done";
  }
  return "unknown";
}

std::string CutoverJson(const CutoverReport& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* key, const std::string& v) {
    w.Key(key);
    if (v.empty()) {
      w.Null();
    } else {
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
  };
  auto num = [&](const char* key, const std::optional<double>& v) {
    w.Key(key);
    if (v) {
      w.Double(*v);
    } else {
      w.Null();
    }
  };
  w.StartObject();
  str("state", CutoverStateName(r.state));
  w.Key("dry_run");
  w.Bool(r.dry_run);
  w.Key("started_at_us");
  w.Int64(r.started_at);
  std::string current;
  for (const auto& s : r.steps) {
    if (s.status == StepStatus::kRunning) current = s.name;
  }
  str("step", current);
  num("downtime_seconds", r.downtime_seconds);
  str("failed_step", r.failed_step);
  str("error", r.error);
  str("unfenced", r.unfenced);
  w.Key("steps");
  w.StartArray();
  for (const auto& s : r.steps) {
    w.StartObject();
    str("name", s.name);
    str("status", StepStatusName(s.status));
    num("seconds", s.seconds);
    w.Key("detail");
    w.String(s.detail.c_str(), static_cast<rapidjson::SizeType>(s.detail.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string CutoverText(const CutoverReport& r) {
  std::ostringstream out;
  out << "cutover" << (r.dry_run ? " (dry run)" : "") << ": " << CutoverStateName(r.state) << "\n";
  char line[96];
  for (const auto& s : r.steps) {
    std::snprintf(line, sizeof line, "  %-10s %-8s %9s  ", s.name.c_str(), StepStatusName(s.status),
                  s.seconds ? (ThreeDecimals(*s.seconds) + " s").c_str() : "-");
    out << line << s.detail << "\n";
  }
  if (r.downtime_seconds) out << "downtime " << ThreeDecimals(*r.downtime_seconds) << " s\n";
  if (!r.failed_step.empty()) out << "failed at " << r.failed_step << ": " << r.error << "\n";
  if (!r.unfenced.empty()) out << "undone: " << r.unfenced << "\n";
  return out.str();
}

}  // namespace stagesync::cutover
