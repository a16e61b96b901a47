// `copy`'s target side: a SessionApplier per worker writes each range's rows through the
// stream's plans, and the copy's bookkeeping commits with them.
#include <set>

#include "create_table.h"
#include "engines.h"
#include "session_applier.h"

namespace stagesync::apply {
namespace {

class SessionCopyWriter : public CopyWriter {
 public:
  SessionCopyWriter(const Config& config, std::unique_ptr<SessionApplier> applier)
      : config_(config), applier_(std::move(applier)) {
    applier_->SetCopying();
  }

  Status Start(const CopyState& state) override {
    return applier_->CommitWith("the copy's plan", [&] {
      return applier_->session().WriteCopyStart(config_.source.slot, state);
    });
  }

  Status TablesWithRows(const std::vector<RelationPtr>& tables,
                        std::vector<std::string>* out) override {
    for (const auto& rel : tables) {
      std::vector<TargetTable> targets;
      std::string list;
      if (Status s = applier_->TargetTablesOf(rel, &targets, &list); !s.ok()) return s;
      for (const auto& t : targets) {
        bool rows = false;
        if (Status s = applier_->session().HasRows(t, &rows); !s.ok()) return s;
        if (rows) out->push_back(t.schema + "." + t.name + " (from " + rel->QualifiedName() + ")");
      }
    }
    return Status::Ok();
  }

  Status CreateTable(const RelationPtr& table, const TableDefinition& definition, bool* created,
                     std::vector<std::string>* notes) override {
    *created = false;
    const UpgradeRules& rules = config_.upgrade.rules;
    if (rules.DropOf(table->schema, table->name)) return Status::Ok();
    if (rules.SplitOf(table->schema, table->name)) {
      std::vector<TargetTable> parts;
      std::string list;
      return applier_->TargetTablesOf(table, &parts, &list);  // the parts must exist
    }
    auto [schema, name] = MappedTargetName(config_, table->schema, table->name);
    const std::string shown = schema + "." + name;
    std::optional<TargetTable> existing;
    if (Status s = applier_->session().LoadTable(schema, name, &existing); !s.ok()) return s;
    if (existing) return Status::Ok();
    // A MySQL target holds a schema the server lacks (PostgreSQL's "public") in the dsn's
    // database, as the stream finds it there.
    if (config_.target.kind == Engine::kMysql) {
      bool exists = false;
      if (Status s = applier_->session().DatabaseExists(schema, &exists); !s.ok()) return s;
      if (!exists) schema.clear();
    }
    TableDdl ddl = BuildCreateTable(config_, *table, definition, schema, name);
    if (!ddl.problems.empty()) {
      std::string text;
      for (const auto& p : ddl.problems) text += (text.empty() ? "" : "; ") + p;
      return Status::Usage(text);
    }
    for (const auto& sql : ddl.statements) {
      if (Status s = applier_->session().RunDdl(sql); !s.ok()) {
        return Status::Usage("creating " + shown + " for " + table->QualifiedName() +
                             " failed: " + s.message() + "\n" + sql);
      }
    }
    *created = true;
    for (auto& n : ddl.notes) notes->push_back(std::move(n));
    return Status::Ok();
  }

  Status RunsAfterRules(const RelationPtr& table, bool* out) override {
    return applier_->HasAfterRules(table, out);
  }

  Status Truncate(const std::vector<RelationPtr>& tables) override {
    TruncateChange truncate;
    truncate.relations = tables;
    std::vector<ChangeEvent> events;
    events.emplace_back(std::in_place_type<TruncateChange>, std::move(truncate));
    if (Status s = applier_->WriteRows(events); !s.ok()) {
      if (s.transient()) return s;
      // Typically a table outside the copy with a foreign key to one of them.
      return Status::Usage("copy --truncate could not empty the target tables: " + s.message() +
                           " — add the referencing table to source.tables, or empty it first");
    }
    return applier_->CommitWith("the truncate", [] { return Status::Ok(); });
  }

  Status Write(std::vector<ChangeEvent>& rows) override { return applier_->WriteRows(rows); }

  Status TakesRaw(const RelationPtr& table, const TableDefinition& definition,
                  RawFormat* out) override {
    return applier_->TakesRaw(table, definition, out);
  }
  Status WriteRaw(const RelationPtr& table, const RawRows& rows) override {
    return applier_->CopyRaw(table, rows);
  }

  Status DropIndexes(const std::vector<RelationPtr>& tables, const std::vector<CopyIndex>& carried,
                     std::vector<CopyIndex>* dropped) override {
    // With rules, a unique index may be what a rule's ON CONFLICT or INSERT IGNORE relies on.
    const bool keep_unique = !config_.upgrade.rules.empty();
    std::vector<CopyIndex> keys, foreign;
    std::set<std::string> seen;  // a foreign key between two copied tables is read twice
    for (const auto& i : carried) {
      if (seen.insert(i.Shown()).second) (i.foreign() ? foreign : keys).push_back(i);
    }
    for (const auto& rel : tables) {
      std::vector<TargetTable> targets;
      std::string list;
      if (Status s = applier_->TargetTablesOf(rel, &targets, &list); !s.ok()) return s;
      for (const auto& t : targets) {
        std::vector<CopyIndex> found;
        if (Status s = applier_->session().ReadSecondaryIndexes(t, keep_unique, &found); !s.ok())
          return s;
        for (auto& i : found) {
          if (!seen.insert(i.Shown()).second) continue;
          (i.foreign() ? foreign : keys).push_back(std::move(i));
        }
      }
    }
    std::set<std::string> carried_names;  // dropped already
    for (const auto& i : carried) carried_names.insert(i.Shown());
    keys.insert(keys.end(), foreign.begin(), foreign.end());
    for (size_t i = 0; i < keys.size(); ++i) keys[i].seq = static_cast<int>(i);
    // Recorded before anything is dropped: a copy killed in between re-creates what is gone.
    if (Status s = applier_->CommitWith(
            "the indexes to rebuild",
            [&] { return applier_->session().WriteCopyIndexes(config_.source.slot, keys); });
        !s.ok()) {
      return s;
    }
    // Foreign keys first: they may need the indexes.
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      if (carried_names.count(it->Shown())) continue;
      if (Status s = applier_->session().RunDdl(it->drop_sql); !s.ok()) {
        return Status::Error("dropping " + it->Shown() + " failed: " + s.message() +
                             " (what was dropped before is recorded: `stagesync copy` "
                             "re-creates it)");
      }
    }
    *dropped = std::move(keys);
    return Status::Ok();
  }

  Status RebuildIndex(const CopyIndex& index) override {
    bool exists = false;
    if (Status s = applier_->session().IndexExists(index, &exists); !s.ok()) return s;
    if (!exists) {
      if (Status s = applier_->session().RunDdl(index.create_sql); !s.ok()) {
        if (s.transient()) return s;
        return Status::Error("re-creating " + index.Shown() + " failed: " + s.message() + "\n  " +
                             index.create_sql +
                             "\nthe rows are copied; fix the cause and run `stagesync copy` "
                             "again to re-create the rest");
      }
    }
    return applier_->CommitWith("index " + index.name, [&] {
      return applier_->session().WriteCopyIndexRebuilt(config_.source.slot, index.seq);
    });
  }

  Status Done(const CopyRange& range) override {
    return applier_->CommitWith(range.table + " part " + std::to_string(range.part + 1), [&] {
      return applier_->session().WriteCopyRangeDone(config_.source.slot, range);
    });
  }

  void Abandon() override { applier_->Rollback(); }

  Status Finish(Lsn position) override {
    Checkpoint checkpoint;
    KnownSourceColumns known;
    if (Status s = applier_->session().ReadCheckpoint(config_.source.slot, &checkpoint, &known);
        !s.ok()) {
      return s;
    }
    checkpoint.lsn = position;
    return applier_->CommitWith("the copy's end", [&] {
      Status s = applier_->session().WriteCopyFinished(config_.source.slot);
      if (s.ok()) s = applier_->session().WriteCheckpoint(config_.source.slot, checkpoint);
      return s;
    });
  }

 private:
  const Config& config_;
  std::unique_ptr<SessionApplier> applier_;
};

}  // namespace

Status OpenCopyWriter(const Config& config, std::unique_ptr<CopyWriter>* out) {
  if (Status s = EnsureBookkeeping(config); !s.ok()) return s;
  std::unique_ptr<SessionApplier> applier;
  if (Status s = OpenSessionApplier(config, &applier, /*for_copy=*/true); !s.ok()) return s;
  *out = std::make_unique<SessionCopyWriter>(config, std::move(applier));
  return Status::Ok();
}

Status ReadCopyState(const Config& config, CopyState* out) {
  std::unique_ptr<TargetSession> session;
  if (Status s = OpenTargetSession(config, &session); !s.ok()) return s;
  return session->ReadCopyState(config.source.slot, out);
}

}  // namespace stagesync::apply
