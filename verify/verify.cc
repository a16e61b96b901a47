// `verify`: every selected source table against its target table, by row count and, with
// --checksum, row by row in key order, streaming both sides and merging them by key, values
// normalised so that PostgreSQL and MySQL spellings of the same value compare equal.
#include "stagesync/verify.h"

#include <algorithm>
#include <optional>

#include "sides.h"
#include "stagesync/apply.h"
#include "stagesync/capture.h"

namespace stagesync::verify {
namespace {

std::string KeyText(const Row& row, const std::vector<std::string>& names) {
  std::string out = "(";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? ", " : "") + names[i] + "=" + row[i].value_or("NULL").substr(0, 64);
  }
  return out + ")";
}

void Checksum(Side& source, Side& target, const TableShape& table,
              const apply::TableCorrespondence& c, TableVerdict* verdict) {
  auto source_types = source.ColumnTypes(table.schema, table.name);
  auto target_types = target.ColumnTypes(c.target_schema, c.target_name);
  // Key columns first, then the rest, each with the kind that normalises both spellings.
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& k : c.key) {
    for (const auto& p : c.columns) {
      if (p.first == k) order.push_back(p);
    }
  }
  for (const auto& p : c.columns) {
    if (std::find(c.key.begin(), c.key.end(), p.first) == c.key.end()) order.push_back(p);
  }
  std::vector<std::pair<std::string, std::string>> source_cols, target_cols;
  std::vector<Kind> kinds;
  std::vector<std::string> names;
  for (const auto& [s, t] : order) {
    Kind ks = KindOf(source_types[s]), kt = KindOf(target_types[t]);
    // A JSON column on either side compares as JSON; a number on either side as a number.
    Kind k = ks == Kind::kJson || kt == Kind::kJson ? Kind::kJson : ks != Kind::kText ? ks : kt;
    kinds.push_back(k);
    names.push_back(s);
    source_cols.emplace_back(s, source_types[s]);
    target_cols.emplace_back(t, target_types[t]);
  }
  std::vector<Kind> key_kinds(kinds.begin(), kinds.begin() + c.key.size());
  source.Open(table.schema, table.name, source_cols, c.key.size());
  target.Open(c.target_schema, c.target_name, target_cols, c.key.size());
  auto normalise = [&](Row* row) {
    for (size_t i = 0; i < row->size(); ++i) {
      if ((*row)[i]) (*row)[i] = Normalise(kinds[i], *(*row)[i]);
    }
  };
  Row a, b;
  bool has_a = source.Next(&a), has_b = target.Next(&b);
  if (has_a) normalise(&a);
  if (has_b) normalise(&b);
  verdict->checksum_equal = true;
  auto note = [&](const std::string& what) {
    verdict->checksum_equal = false;
    if (verdict->differences.size() < 5) verdict->differences.push_back(what);
  };
  const std::vector<std::string> key_names(names.begin(), names.begin() + c.key.size());
  while (has_a || has_b) {
    int cmp = !has_a ? 1 : !has_b ? -1 : CompareKeys(a, b, key_kinds);
    if (cmp < 0) {
      note("only on the source: " + KeyText(a, key_names));
      if ((has_a = source.Next(&a))) normalise(&a);
    } else if (cmp > 0) {
      note("only on the target: " + KeyText(b, key_names));
      if ((has_b = target.Next(&b))) normalise(&b);
    } else {
      for (size_t i = c.key.size(); i < a.size(); ++i) {
        if (a[i] != b[i]) {
          note("differs at " + KeyText(a, key_names) + " in " + names[i] + ": '" +
               a[i].value_or("NULL").substr(0, 80) + "' vs '" +
               b[i].value_or("NULL").substr(0, 80) + "'");
          break;
        }
      }
      if ((has_a = source.Next(&a))) normalise(&a);
      if ((has_b = target.Next(&b))) normalise(&b);
    }
  }
  verdict->checksummed = true;
}

}  // namespace

bool VerifyReport::equal() const {
  return std::all_of(tables.begin(), tables.end(), [](const TableVerdict& t) {
    return t.error.empty() && t.source_rows == t.target_rows &&
           (!t.checksummed || t.checksum_equal);
  });
}

Status Verify(const Config& config, bool checksum, const VerifyProgress& progress,
              VerifyReport* report) {
  capture::SourceCheck check;
  if (Status s = capture::CheckSource(config, &check); !s.ok()) return s;
  std::unique_ptr<Side> source, target;
  try {
    source = OpenSide(config.source);
    target = OpenSide(config.target);
  } catch (const std::exception& e) {
    return Status::Error(std::string("verify: ") + e.what());
  }
  size_t done = 0;
  for (const auto& table : check.tables) {
    if (progress) progress(table.QualifiedName(), done++, check.tables.size());
    TableVerdict v;
    v.source_table = table.QualifiedName();
    if (const DroppedTable* d = config.upgrade.rules.DropOf(table.schema, table.name)) {
      v.note = "not compared: its changes are dropped on purpose by [[drop]] rule \"" + d->name +
               "\" (" + d->reason + ")";
      report->tables.push_back(std::move(v));
      continue;
    }
    if (const SplitTable* split = config.upgrade.rules.SplitOf(table.schema, table.name)) {
      v.note = "not compared: its rows are split into several target tables by [[split]] rule \"" +
               split->name + "\"";
      report->tables.push_back(std::move(v));
      continue;
    }
    std::optional<apply::TableCorrespondence> c;
    if (Status s = apply::ResolveTargetTable(config, table, &c); !s.ok()) return s;
    if (!c) {
      v.error = "no target table (create it, map it in [mapping], or exclude the source table)";
      report->tables.push_back(std::move(v));
      continue;
    }
    v.target_table = c->target_schema + "." + c->target_name;
    try {
      v.source_rows = source->Count(table.schema, table.name);
      v.target_rows = target->Count(c->target_schema, c->target_name);
      if (checksum) {
        if (c->key.empty()) {
          v.note = "no key to compare rows by on the target: counted only";
        } else {
          Checksum(*source, *target, table, *c, &v);
        }
      }
    } catch (const std::exception& e) {
      v.error = e.what();
    }
    report->tables.push_back(std::move(v));
  }
  if (progress) progress("", done, check.tables.size());
  return Status::Ok();
}

}  // namespace stagesync::verify
