// The cutover's report at its edges: the contract's words for states, the JSON that `status`,
// the monitor and `cutover --json` show, and the text for a terminal.
#include <cstdio>
#include <sstream>

#include "report_format.h"
#include "stagesync/cutover.h"
#include "stagesync/json.h"

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
  std::string current;
  for (const auto& s : r.steps) {
    if (s.status == StepStatus::kRunning) current = s.name;
  }
  json::Writer w;
  w.StartObject();
  w.Key("state").StringOrNull(CutoverStateName(r.state));
  w.Key("dry_run").Bool(r.dry_run);
  w.Key("started_at_us").Int(r.started_at);
  w.Key("step").StringOrNull(current);
  w.Key("downtime_seconds").DoubleOrNull(r.downtime_seconds);
  w.Key("failed_step").StringOrNull(r.failed_step);
  w.Key("error").StringOrNull(r.error);
  w.Key("unfenced").StringOrNull(r.unfenced);
  w.Key("steps").StartArray();
  for (const auto& s : r.steps) {
    w.StartObject().Key("name").StringOrNull(s.name);
    w.Key("status").StringOrNull(StepStatusName(s.status));
    w.Key("seconds").DoubleOrNull(s.seconds);
    w.Key("detail").String(s.detail).EndObject();
  }
  w.EndArray().EndObject();
  return w.str();
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
