// Reads a rule file (see upgrade_rules.h) with every problem listed at once.
#include "stagesync/upgrade_rules.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "config_reader.h"
#include "stagesync/config.h"

namespace stagesync {
namespace {

// One [[kind]] entry: its key prefix in messages ("compute[2]", or its name).
std::string EntryKey(const char* kind, size_t index, const std::string& name) {
  return name.empty() ? std::string(kind) + "[" + std::to_string(index + 1) + "]"
                      : std::string(kind) + " \"" + name + "\"";
}

// The entries of array-of-tables `kind`, each with its message prefix.
std::vector<std::pair<const toml::table*, std::string>> Entries(Reader& r, const toml::table& root,
                                                                const char* kind) {
  std::vector<std::pair<const toml::table*, std::string>> out;
  const toml::node* node = root.get(kind);
  if (!node) return out;
  const toml::array* arr = node->as_array();
  if (!arr) {
    r.Problem(kind, std::string("must be written [[") + kind + "]], one per rule");
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    if (!t) {
      r.Problem(EntryKey(kind, i, ""), std::string("must be a table: [[") + kind + "]]");
      continue;
    }
    std::string name;
    r.String(*t, "", "name", &name);
    out.emplace_back(t, EntryKey(kind, i, name) + ".");
  }
  return out;
}

void Required(Reader& r, const toml::table& t, const std::string& prefix, const char* key,
              const std::string& example, std::string* out) {
  r.String(t, prefix, key, out);
  if (!t.get(key))
    r.Problem(prefix + key, std::string("is required, e.g. ") + key + " = " + example);
}

void Sql(Reader& r, const toml::table& t, const std::string& prefix, const char* key, bool required,
         SqlTemplate* out) {
  std::string text;
  if (required) {
    Required(r, t, prefix, key, "\"<SQL>\"", &text);
  } else {
    r.String(t, prefix, key, &text);
  }
  if (text.empty()) return;
  if (Status s = ParseSqlTemplate(text, out); !s.ok()) r.Problem(prefix + key, s.message());
}

void Ops(Reader& r, const toml::table& t, const std::string& prefix, uint8_t allowed,
         uint8_t* out) {
  if (!t.get("on")) return;
  std::vector<std::string> names;
  r.StringList(t, prefix, "on", &names);
  uint8_t ops = 0;
  for (const auto& n : names) {
    uint8_t op = n == "insert"   ? kOnInsert
                 : n == "update" ? kOnUpdate
                 : n == "delete" ? kOnDelete
                                 : 0;
    if (!(op & allowed)) {
      std::string list = (allowed & kOnDelete) ? "insert, update, delete" : "insert, update";
      r.Problem(prefix + "on", "\"" + n + "\" is not valid here; use a list of " + list);
      return;
    }
    ops |= op;
  }
  if (ops == 0) r.Problem(prefix + "on", "names no change; leave it out or list some");
  *out = ops;
}

bool Qualified(const std::string& name) {
  return name.find('.') != std::string::npos;
}

std::pair<std::string, std::string> SplitName(const std::string& name) {
  auto dot = name.find('.');
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace

bool RuleTableNames(const std::string& rule_table, const std::string& schema,
                    const std::string& table) {
  if (!Qualified(rule_table)) return AsciiEqualFold(rule_table, table);
  auto [s, t] = SplitName(rule_table);
  return FindQualifiedName({{schema, table}}, s, t) == 0;
}

const DroppedTable* UpgradeRules::DropOf(const std::string& schema,
                                         const std::string& table) const {
  for (const auto& d : dropped) {
    if (RuleTableNames(d.table, schema, table)) return &d;
  }
  return nullptr;
}

const SplitTable* UpgradeRules::SplitOf(const std::string& schema, const std::string& table) const {
  for (const auto& s : splits) {
    if (RuleTableNames(s.table, schema, table)) return &s;
  }
  return nullptr;
}

std::string UpgradeRules::RenameOf(const std::string& schema, const std::string& table,
                                   const std::string& column) const {
  for (const auto& r : renamed) {
    if (RuleTableNames(r.table, schema, table) && AsciiEqualFold(r.from, column)) return r.to;
  }
  return "";
}

Status ParseUpgradeRules(const std::string& toml_text, const std::string& origin,
                         UpgradeRules* out) {
  toml::table root;
  if (Status s = ParseToml(toml_text, origin, &root); !s.ok()) return s;
  Reader r(origin);
  r.CheckKeys(root, "", {"compute", "default", "after", "drop", "rename", "split"});
  UpgradeRules rules;
  rules.path = origin;
  std::set<std::string> names;
  auto name_of = [&](const toml::table& t, const std::string& prefix, std::string fallback) {
    std::string name;
    r.String(t, prefix, "name", &name);
    if (name.empty()) name = std::move(fallback);
    if (!names.insert(name).second) {
      r.Problem(prefix + "name", "\"" + name + "\" names another rule too; give each its own");
    }
    return name;
  };

  for (const char* kind : {"compute", "default"}) {
    bool is_default = std::string(kind) == "default";
    for (const auto& [t, prefix] : Entries(r, root, kind)) {
      r.CheckKeys(*t, prefix,
                  is_default ? std::set<std::string>{"name", "table", "column", "value"}
                             : std::set<std::string>{"name", "table", "column", "value", "on"});
      ComputedColumn c;
      c.is_default = is_default;
      Required(r, *t, prefix, "table", "\"um_role_permission\"", &c.table);
      Required(r, *t, prefix, "column", "\"um_domain_id\"", &c.column);
      Sql(r, *t, prefix, "value", true, &c.value);
      if (is_default) {
        c.ops = kOnInsert;
      } else {
        Ops(r, *t, prefix, kOnInsert | kOnUpdate, &c.ops);
      }
      c.name = name_of(*t, prefix, c.table + "." + c.column);
      rules.computed.push_back(std::move(c));
    }
  }
  for (const auto& [t, prefix] : Entries(r, root, "after")) {
    r.CheckKeys(*t, prefix, {"name", "table", "on", "run"});
    AfterStatement a;
    Required(r, *t, prefix, "table", "\"um_tenant\"", &a.table);
    Sql(r, *t, prefix, "run", true, &a.statement);
    if (!t->get("on")) r.Problem(prefix + "on", "is required, e.g. on = [\"insert\"]");
    Ops(r, *t, prefix, kOnInsert | kOnUpdate | kOnDelete, &a.ops);
    a.name = name_of(*t, prefix, "after " + a.table);
    rules.after.push_back(std::move(a));
  }
  for (const auto& [t, prefix] : Entries(r, root, "drop")) {
    r.CheckKeys(*t, prefix, {"name", "table", "reason"});
    DroppedTable d;
    Required(r, *t, prefix, "table", "\"um_claim_behavior\"", &d.table);
    Required(r, *t, prefix, "reason", "\"the release drops this table\"", &d.reason);
    d.name = name_of(*t, prefix, "drop " + d.table);
    rules.dropped.push_back(std::move(d));
  }
  for (const auto& [t, prefix] : Entries(r, root, "rename")) {
    r.CheckKeys(*t, prefix, {"name", "table", "from", "to"});
    RenamedColumn c;
    Required(r, *t, prefix, "table", "\"orders\"", &c.table);
    Required(r, *t, prefix, "from", "\"old_column\"", &c.from);
    Required(r, *t, prefix, "to", "\"new_column\"", &c.to);
    c.name = name_of(*t, prefix, "rename " + c.table + "." + c.from);
    rules.renamed.push_back(std::move(c));
  }
  for (const auto& [t, prefix] : Entries(r, root, "split")) {
    r.CheckKeys(*t, prefix, {"name", "table", "into"});
    SplitTable s;
    Required(r, *t, prefix, "table", "\"orders\"", &s.table);
    s.name = name_of(*t, prefix, "split " + s.table);
    const toml::array* into = t->get("into") ? t->get("into")->as_array() : nullptr;
    if (!into || into->size() < 2) {
      r.Problem(prefix + "into",
                "needs two or more parts: [[split.into]] table = \"...\" when = \"<SQL>\", and a "
                "last one without `when` that takes the other rows");
    }
    for (size_t i = 0; into && i < into->size(); ++i) {
      std::string part = prefix + "into[" + std::to_string(i + 1) + "].";
      const toml::table* pt = into->get(i)->as_table();
      if (!pt) {
        r.Problem(part, "must be a table: [[split.into]]");
        continue;
      }
      r.CheckKeys(*pt, part, {"table", "when"});
      SplitPart p;
      Required(r, *pt, part, "table", "\"orders_open\"", &p.table);
      bool last = i + 1 == into->size();
      Sql(r, *pt, part, "when", false, &p.when);
      if (last && pt->get("when")) {
        r.Problem(part + "when",
                  "the last part takes every row the others do not: leave its `when` out");
      } else if (!last && p.when.empty()) {
        r.Problem(part + "when", "is required on every part but the last");
      }
      s.parts.push_back(std::move(p));
    }
    rules.splits.push_back(std::move(s));
  }
  for (const auto& c : rules.computed) {
    for (const auto& o : rules.computed) {
      if (&o < &c && AsciiEqualFold(o.table, c.table) && AsciiEqualFold(o.column, c.column)) {
        r.Problem(
            EntryKey(c.is_default ? "default" : "compute", 0, c.name) + ".column",
            c.table + "." + c.column + " is filled by rule \"" + o.name + "\" already: keep one");
      }
    }
  }
  if (r.HasProblems()) {
    std::string joined = r.Joined();
    return Status::Usage("invalid upgrade rules:" + joined.substr(joined.find(':') + 1));
  }
  *out = std::move(rules);
  return Status::Ok();
}

Status LoadUpgradeRules(const std::string& path, UpgradeRules* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Usage("upgrade.rules: cannot read \"" + path +
                         "\": give the path of the release's rule file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseUpgradeRules(text.str(), path, out);
}

}  // namespace stagesync
