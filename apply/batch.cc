#include "batch.h"

namespace stagesync::apply {
namespace {

std::string KeyString(const Tuple& key) {
  std::string s;
  for (const auto& v : key) {
    s += static_cast<char>(v.kind);
    s += std::to_string(v.text.size());
    s += ':';
    s += v.text;
  }
  return s;
}

// Later image wins; columns it did not carry keep the earlier image's value.
void MergeImage(Tuple& into, const Tuple& later) {
  if (into.size() != later.size()) {
    into = later;
    return;
  }
  for (size_t i = 0; i < later.size(); ++i) {
    if (!later[i].is_unchanged()) into[i] = later[i];
  }
}

}  // namespace

std::string DescribeKey(const TablePlan& plan, const RowChange& c) {
  std::string out = "(";
  if (plan.keyless) {
    out += "no key";
  } else {
    Tuple key = KeyOf(plan, c);
    for (size_t i = 0; i < key.size(); ++i) {
      if (i) out += ", ";
      out += plan.relation->columns[plan.key_source[i]].name + "=";
      out += key[i].is_null() ? "NULL" : key[i].text.substr(0, 64);
    }
  }
  return out + ")";
}

const char* OpName(RowOp op) {
  switch (op) {
    case RowOp::kInsert:
      return "insert";
    case RowOp::kUpdate:
      return "update";
    case RowOp::kDelete:
      return "delete";
  }
  return "?";
}

Tuple KeyOf(const TablePlan& plan, const RowChange& change) {
  const Tuple& from = (!change.old_tuple.empty()) ? change.old_tuple : change.new_tuple;
  Tuple key;
  key.reserve(plan.key_source.size());
  for (int c : plan.key_source) key.push_back(from[c]);
  return key;
}

bool MovesKey(const TablePlan& plan, const RowChange& change) {
  if (change.op != RowOp::kUpdate || change.old_tuple.empty()) return false;
  for (int c : plan.key_source) {
    const Value& now = change.new_tuple[c];
    if (!now.is_unchanged() && !(now == change.old_tuple[c])) return true;
  }
  return false;
}

std::vector<bool> PresentColumns(const Tuple& tuple, size_t width) {
  std::vector<bool> present(width, false);
  for (size_t i = 0; i < tuple.size() && i < width; ++i) present[i] = !tuple[i].is_unchanged();
  return present;
}

void AppendArrayElement(std::string& out, const Value& value) {
  if (value.is_null()) {
    out += "NULL";
    return;
  }
  out += '"';
  const std::string& t = value.text;
  size_t start = 0;
  while (true) {
    size_t special = t.find_first_of("\"\\", start);
    if (special == std::string::npos) {
      out.append(t, start, std::string::npos);
      break;
    }
    out.append(t, start, special - start);
    out += '\\';
    out += t[special];
    start = special + 1;
  }
  out += '"';
}

void TableBatch::Add(const RowChange& change) {
  using State = PendingRow::State;
  Tuple key = KeyOf(*plan_, change);
  std::string k = KeyString(key);
  auto [it, fresh] = index_.try_emplace(k, rows_.size());
  if (fresh) {
    PendingRow row;
    row.key = std::move(key);
    row.lsn = change.lsn;
    switch (change.op) {
      case RowOp::kInsert:
        row.state = State::kInsert;
        row.image = change.new_tuple;
        break;
      case RowOp::kUpdate:
        row.state = State::kUpdate;
        row.image = change.new_tuple;
        break;
      case RowOp::kDelete:
        row.state = State::kDelete;
        break;
    }
    rows_.push_back(std::move(row));
    return;
  }
  PendingRow& row = rows_[it->second];
  row.lsn = change.lsn;
  switch (change.op) {
    case RowOp::kInsert:
      row.state = (row.state == State::kDelete || row.state == State::kDeleteInsert)
                      ? State::kDeleteInsert
                      : State::kInsert;
      row.image = change.new_tuple;
      break;
    case RowOp::kUpdate:
      if (row.state == State::kDelete) {
        row.state = State::kDeleteInsert;
        row.image = change.new_tuple;
      } else {
        MergeImage(row.image, change.new_tuple);
      }
      break;
    case RowOp::kDelete:
      row.state = State::kDelete;
      row.image.clear();
      break;
  }
}

void TableBatch::Append(const RowChange& change) {
  PendingRow row;
  row.state = PendingRow::State::kInsert;
  row.image = change.new_tuple;
  row.lsn = change.lsn;
  rows_.push_back(std::move(row));
}

void TableBatch::Clear() {
  index_.clear();
  rows_.clear();
}

}  // namespace stagesync::apply
