// Source-side checks and preparation for PostgreSQL: settings, table identity, publication,
// slot and heartbeat table.
#include <algorithm>
#include <set>

#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"

namespace stagesync::capture {
namespace {

using pg::QualifiedIdent;
using pg::QuoteIdent;
using pg::QuoteLiteral;

std::vector<std::string> ParseTextArray(const std::string& literal) {
  // Arrays of identifiers from array_agg(attname): {a,"b c"}; identifiers never hold NULL.
  std::vector<std::string> out;
  if (literal.size() < 2) return out;
  std::string cur;
  bool quoted = false, in_item = false;
  for (size_t i = 1; i + 1 < literal.size(); ++i) {
    char c = literal[i];
    if (quoted) {
      if (c == '\\' && i + 2 < literal.size()) {
        cur += literal[++i];
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
      in_item = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
      in_item = false;
    } else {
      cur += c;
      in_item = true;
    }
  }
  if (in_item || !cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

Status CheckPostgresSource(const Config& config, SourceCheck* check) {
  try {
    auto conn = pg::Connect(config.source, "stagesync-setup");
    pqxx::nontransaction tx(*conn);
    auto setting = [&](const char* name) {
      return tx.exec1(std::string("SHOW ") + name)[0].as<std::string>();
    };

    std::string wal_level = setting("wal_level");
    if (wal_level != "logical") {
      check->problems.push_back("source wal_level is '" + wal_level +
                                "', logical replication needs 'logical': run ALTER SYSTEM SET "
                                "wal_level = logical; on the source and restart it");
    }
    auto role = tx.exec1(
        "SELECT rolsuper, rolreplication, current_user FROM pg_roles WHERE rolname = current_user");
    if (!role[0].as<bool>() && !role[1].as<bool>()) {
      std::string user = role[2].as<std::string>();
      check->problems.push_back("source role " + user + " may not replicate: run ALTER ROLE " +
                                QuoteIdent(user) + " REPLICATION; (or connect as a superuser)");
    }
    auto slot = tx.exec_params(
        "SELECT plugin, slot_type, database = current_database() FROM pg_replication_slots "
        "WHERE slot_name = $1",
        config.source.slot);
    if (slot.empty()) {
      int max_slots = std::stoi(setting("max_replication_slots"));
      int used = tx.exec1("SELECT count(*) FROM pg_replication_slots")[0].as<int>();
      if (used >= max_slots) {
        check->problems.push_back(
            "source has no free replication slot (" + std::to_string(used) + " of " +
            std::to_string(max_slots) +
            " used): raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = " +
            std::to_string(max_slots + 1) + "; restart) or drop an unused slot");
      }
    } else if (slot[0][0].is_null() || slot[0][0].as<std::string>() != "pgoutput" ||
               !slot[0][2].as<bool>(false)) {
      check->problems.push_back("source slot " + config.source.slot +
                                " exists but is not a pgoutput slot of this database: choose "
                                "another source.slot, or drop it with SELECT "
                                "pg_drop_replication_slot(" +
                                QuoteLiteral(config.source.slot) + ");");
    }
    int max_senders = std::stoi(setting("max_wal_senders"));
    int senders = tx.exec1("SELECT count(*) FROM pg_stat_replication")[0].as<int>();
    if (senders >= max_senders) {
      check->problems.push_back("source has no free WAL sender (" + std::to_string(senders) +
                                " of " + std::to_string(max_senders) +
                                " in use): raise max_wal_senders and restart");
    }

    auto rows = tx.exec(
        "SELECT n.nspname, c.relname, c.relreplident, "
        "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
        "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), "
        "  (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
        "    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "      AND a.attgenerated = '') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "  AND n.nspname NOT IN ('pg_catalog', 'information_schema', " +
        QuoteLiteral(kSourceSchema) +
        ") AND n.nspname !~ '^pg_(toast|temp)' "
        "ORDER BY 1, 2");
    for (const auto& row : rows) {
      SourceTable t;
      t.schema = row[0].as<std::string>();
      t.name = row[1].as<std::string>();
      if (!Selected(config, t.QualifiedName())) continue;
      char ident = row[2].as<std::string>()[0];
      bool has_pk = row[3].as<bool>();
      bool has_ident_index = row[4].as<bool>();
      if (!row[5].is_null()) t.columns = ParseTextArray(row[5].as<std::string>());
      std::string q = QualifiedIdent(t.schema, t.name);
      if (ident == 'n' || (ident == 'd' && !has_pk) || (ident == 'i' && !has_ident_index)) {
        check->problems.push_back(
            "source table " + t.QualifiedName() +
            " has no primary key or replica identity, so updates and deletes cannot be "
            "replicated: add a primary key (ALTER TABLE " +
            q + " ADD PRIMARY KEY (...);) or run ALTER TABLE " + q +
            " REPLICA IDENTITY FULL; and set source.allow_keyless = true (see below)");
      } else if (ident == 'f' && !has_pk && !config.source.allow_keyless) {
        // A keyless row replayed onto a copy that already holds it cannot be recognised
        // there: an insert replayed onto the copy doubles it.
        check->problems.push_back(
            "source table " + t.QualifiedName() +
            " has no primary key (REPLICA IDENTITY FULL): replaying its changes onto a copy "
            "that already holds some of them doubles those rows, since a keyless row cannot "
            "be recognised. Add a primary key (ALTER TABLE " +
            q +
            " ADD PRIMARY KEY (...);), list it in source.exclude, or, if the target's copy "
            "of it starts empty or exactly at the stream's start (`stagesync copy` makes it so), "
            "set source.allow_keyless "
            "= true");
      }
      check->tables.push_back(std::move(t));
    }
    if (check->tables.empty()) {
      std::string globs;
      for (const auto& g : config.source.tables) globs += (globs.empty() ? "" : ", ") + g;
      check->problems.push_back("source.tables (" + globs +
                                ") selects no table on the source: check the schema.table globs");
    }
  } catch (const std::exception& e) {
    return Status::Usage("source: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status PreparePostgresSource(const Config& config, const SourceCheck& check,
                             std::vector<std::string>* notes) {
  try {
    auto conn = pg::Connect(config.source, "stagesync-setup");
    {
      pqxx::work tx(*conn);
      tx.exec0("SET LOCAL client_min_messages = warning");
      tx.exec0(std::string("CREATE SCHEMA IF NOT EXISTS ") + QuoteIdent(kSourceSchema));
      tx.exec0("CREATE TABLE IF NOT EXISTS " + QualifiedIdent(kSourceSchema, kHeartbeatTable) +
               " (id integer PRIMARY KEY, ts timestamptz NOT NULL)");
      tx.exec0("INSERT INTO " + QualifiedIdent(kSourceSchema, kHeartbeatTable) +
               " VALUES (1, now()) ON CONFLICT (id) DO NOTHING");
      tx.exec0("CREATE TABLE IF NOT EXISTS " + QualifiedIdent(kSourceSchema, kCaptureLiveTable) +
               " (stream text PRIMARY KEY, lag_seconds double precision NOT NULL, live_at "
               "timestamptz NOT NULL)");

      std::set<std::string> wanted;
      for (const auto& t : check.tables) wanted.insert(QualifiedIdent(t.schema, t.name));
      wanted.insert(QualifiedIdent(kSourceSchema, kHeartbeatTable));
      std::string list;
      for (const auto& w : wanted) list += (list.empty() ? "" : ", ") + w;

      auto pub = tx.exec_params("SELECT puballtables FROM pg_publication WHERE pubname = $1",
                                config.source.publication);
      if (pub.empty()) {
        tx.exec0("CREATE PUBLICATION " + QuoteIdent(config.source.publication) + " FOR TABLE " +
                 list);
        notes->push_back("created publication " + config.source.publication + " (" +
                         std::to_string(wanted.size()) + " tables)");
      } else if (pub[0][0].as<bool>()) {
        notes->push_back("publication " + config.source.publication +
                         " publishes all tables; left as it is");
      } else {
        std::set<std::string> have;
        for (const auto& r : tx.exec_params(
                 "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
                 config.source.publication)) {
          have.insert(QualifiedIdent(r[0].as<std::string>(), r[1].as<std::string>()));
        }
        if (have != wanted) {
          tx.exec0("ALTER PUBLICATION " + QuoteIdent(config.source.publication) + " SET TABLE " +
                   list);
          notes->push_back("publication " + config.source.publication + " now has " +
                           std::to_string(wanted.size()) + " tables");
        }
      }
      tx.commit();
    }
    pqxx::nontransaction tx(*conn);
    auto slot = tx.exec_params("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                               config.source.slot);
    if (slot.empty()) {
      // A slot must be created outside a transaction that wrote anything.
      auto r = tx.exec_params("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                              config.source.slot);
      notes->push_back("created slot " + config.source.slot + " at " + r[0][0].as<std::string>() +
                       ": changes committed from here on will reach the target");
    }
  } catch (const std::exception& e) {
    return Status::Error("source setup failed: " + pg::Describe(e));
  }
  return Status::Ok();
}

Status TeardownPostgresSource(const Config& config, std::vector<std::string>* notes) {
  try {
    auto conn = pg::Connect(config.source, "stagesync-teardown");
    pqxx::nontransaction tx(*conn);
    tx.exec0("SET client_min_messages = warning");
    // After a cutover production stays fenced (default_transaction_read_only on the
    // database); what stagesync created there is still ours to remove.
    tx.exec0("SET default_transaction_read_only = off");
    auto slot = tx.exec_params("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
                               config.source.slot);
    if (!slot.empty()) {
      if (!slot[0][0].is_null()) {
        return Status::Usage("slot " + config.source.slot + " is in use by process " +
                             slot[0][0].as<std::string>() + ": stop `stagesync run` first");
      }
      tx.exec_params("SELECT pg_drop_replication_slot($1)", config.source.slot);
      notes->push_back("dropped slot " + config.source.slot);
    }
    tx.exec0("DROP PUBLICATION IF EXISTS " + QuoteIdent(config.source.publication));
    tx.exec0(std::string("DROP SCHEMA IF EXISTS ") + QuoteIdent(kSourceSchema) + " CASCADE");
    notes->push_back("dropped publication " + config.source.publication + " and schema " +
                     kSourceSchema);
  } catch (const std::exception& e) {
    return Status::Error("source teardown failed: " + pg::Describe(e));
  }
  return Status::Ok();
}

}  // namespace stagesync::capture

namespace stagesync::capture {

Status ReadPostgresSourcePosition(const Config& config, SourcePosition* out) {
  try {
    auto conn = pg::Connect(config.source, "stagesync-status");
    pqxx::nontransaction tx(*conn);
    auto now = tx.exec1(
        "SELECT pg_current_wal_lsn()::text, (extract(epoch FROM clock_timestamp()) * 1e6)::int8");
    out->current = ParseLsn(now[0].as<std::string>()).value_or(0);
    out->source_now = now[1].as<int64_t>();
    auto slot = tx.exec_params(
        "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1",
        config.source.slot);
    if (!slot.empty()) {
      out->slot_exists = true;
      if (!slot[0][0].is_null())
        out->slot_confirmed = ParseLsn(slot[0][0].as<std::string>()).value_or(0);
      out->slot_active = slot[0][1].as<bool>();
    }
  } catch (const std::exception& e) {
    return Status::Error("source: " + pg::Describe(e));
  }
  return Status::Ok();
}

}  // namespace stagesync::capture
