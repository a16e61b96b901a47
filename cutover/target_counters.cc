// Step 4 on the target: PostgreSQL sequences (setval) and MySQL AUTO_INCREMENT (ALTER TABLE).
#include "target_counters.h"

#include <map>
#include <optional>
#include <set>

#include "stagesync/apply.h"
#include "stagesync/mysql.h"
#include "stagesync/pg.h"

namespace stagesync::cutover {
namespace {

// Where a source counter lands on the target: the target table and column it feeds, or for
// a free-standing sequence the target schema its source schema maps to.
struct Landing {
  std::string schema, table, column;
};

std::optional<Landing> Land(const Config& config, const SourceCounter& c,
                            const std::vector<TableShape>& tables) {
  for (const auto& t : tables) {
    if (t.schema != c.schema || (!c.table.empty() && t.name != c.table)) continue;
    std::optional<apply::TableCorrespondence> corr;
    if (Status s = apply::ResolveTargetTable(config, t, &corr); !s.ok() || !corr) continue;
    Landing l{corr->target_schema, "", ""};
    if (c.table.empty()) return l;  // a free sequence: only the schema was wanted
    l.table = corr->target_name;
    int column = FindName(corr->columns, c.column,
                          [](const auto& pair) -> const std::string& { return pair.first; });
    if (column >= 0) l.column = corr->columns[column].second;
    if (l.column.empty()) return std::nullopt;
    return l;
  }
  return std::nullopt;
}

std::string SourceName(const SourceCounter& c) {
  return c.table.empty() || c.table == c.name ? c.schema + "." + c.name
                                              : c.schema + "." + c.table + "." + c.column;
}

class PostgresCounters : public TargetCounters {
 public:
  explicit PostgresCounters(const Config& config)
      : config_(config), conn_(pg::Connect(config.target, "stagesync-cutover")) {}

  std::vector<std::string> Sync(const std::vector<SourceCounter>& counters,
                                const std::vector<TableShape>& tables) override {
    std::vector<std::string> lines;
    pqxx::nontransaction tx(*conn_);
    for (const auto& c : counters) {
      if (!c.last_value) continue;  // never used at the source: nothing to be ahead of
      auto land = Land(config_, c, tables);
      std::optional<std::string> seq;
      if (land && !land->table.empty()) {
        auto r = tx.exec_params1("SELECT pg_get_serial_sequence($1, $2)",
                                 pg::QualifiedIdent(land->schema, land->table), land->column);
        if (!r[0].is_null()) seq = r[0].as<std::string>();
      } else if (land) {
        // lower() under "C" folds ASCII letters only (AsciiLower); FindName prefers the exact.
        auto r = tx.exec_params(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relname "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' "
            "AND n.nspname = $1 AND lower(c.relname COLLATE \"C\") = $2",
            land->schema, AsciiLower(c.name));
        std::vector<std::string> names;
        for (const auto& row : r) names.push_back(row[1].as<std::string>());
        int found =
            FindName(names, c.name, [](const std::string& n) -> const std::string& { return n; });
        if (found >= 0) seq = r[found][0].as<std::string>();
      }
      if (!seq) {
        lines.push_back(SourceName(c) + ": no sequence on the target, skipped");
        continue;
      }
      auto cur = tx.exec1("SELECT last_value, is_called FROM " + *seq);
      int64_t last = cur[0].as<int64_t>();
      bool called = cur[1].as<bool>();
      int64_t handed_out = called ? last : last - 1;
      if (handed_out >= *c.last_value) {
        lines.push_back(*seq + " at " + std::to_string(handed_out) + ", already >= source " +
                        std::to_string(*c.last_value));
        continue;
      }
      tx.exec_params("SELECT setval($1::regclass, $2, true)", *seq, *c.last_value);
      undo_.push_back("SELECT setval(" + pg::QuoteLiteral(*seq) + "::regclass, " +
                      std::to_string(last) + ", " + (called ? "true" : "false") + ")");
      lines.push_back(*seq + " " + std::to_string(handed_out) + " -> " +
                      std::to_string(*c.last_value));
    }
    return lines;
  }

  void Restore() override {
    pqxx::nontransaction tx(*conn_);
    for (const auto& sql : undo_) tx.exec(sql);
    undo_.clear();
  }

 private:
  const Config& config_;
  std::unique_ptr<pqxx::connection> conn_;
  std::vector<std::string> undo_;
};

class MysqlCounters : public TargetCounters {
 public:
  explicit MysqlCounters(const Config& config)
      : config_(config), conn_(mysql::Connect(config.target)) {}

  std::vector<std::string> Sync(const std::vector<SourceCounter>& counters,
                                const std::vector<TableShape>& tables) override {
    std::vector<std::string> lines;
    std::vector<std::pair<const SourceCounter*, Landing>> landed;
    std::set<std::string> schemas;
    for (const auto& c : counters) {
      if (!c.last_value) continue;
      auto land = Land(config_, c, tables);
      if (!land || land->table.empty()) {
        lines.push_back(SourceName(c) + ": no AUTO_INCREMENT column on the target, skipped");
        continue;
      }
      schemas.insert(land->schema);
      landed.emplace_back(&c, *land);
    }
    // The target's AUTO_INCREMENT columns and next values, in one catalog query.
    std::map<std::string, int64_t> next_of;  // "schema.table.column" -> AUTO_INCREMENT
    for (const auto& a : MysqlAutoIncrements(*conn_, schemas)) {
      next_of[a.schema + "." + a.table + "." + a.column] = a.next;
    }
    for (const auto& [c, land] : landed) {
      std::string name = land.schema + "." + land.table;
      auto it = FindByName(next_of, name + "." + land.column);
      if (it == next_of.end()) {
        lines.push_back(SourceName(*c) + ": " + name + "." + land.column +
                        " is not AUTO_INCREMENT on the target, skipped");
        continue;
      }
      int64_t next = it->second;
      if (next - 1 >= *c->last_value) {
        lines.push_back(name + " AUTO_INCREMENT at " + std::to_string(next) +
                        ", already past source " + std::to_string(*c->last_value));
        continue;
      }
      std::string table = mysql::QualifiedIdent(land.schema, land.table);
      mysql::Exec(*conn_, "ALTER TABLE " + table +
                              " AUTO_INCREMENT = " + std::to_string(*c->last_value + 1));
      undo_.push_back("ALTER TABLE " + table + " AUTO_INCREMENT = " + std::to_string(next));
      lines.push_back(name + " AUTO_INCREMENT " + std::to_string(next) + " -> " +
                      std::to_string(*c->last_value + 1));
    }
    return lines;
  }

  void Restore() override {
    for (const auto& sql : undo_) mysql::Exec(*conn_, sql);
    undo_.clear();
  }

 private:
  const Config& config_;
  std::unique_ptr<sql::Connection> conn_;
  std::vector<std::string> undo_;
};

}  // namespace

std::unique_ptr<TargetCounters> TargetCounters::Open(const Config& config) {
  if (config.target.kind == Engine::kMysql) return std::make_unique<MysqlCounters>(config);
  return std::make_unique<PostgresCounters>(config);
}

}  // namespace stagesync::cutover
