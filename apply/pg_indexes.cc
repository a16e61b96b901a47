// PostgreSQL's secondary indexes and foreign keys of a target table, from its catalog. Primary
// keys, replica identity indexes and partitions' indexes (their parent's own) stay.
#include "secondary_indexes.h"

namespace stagesync::apply {

std::vector<CopyIndex> ReadPostgresIndexes(pqxx::transaction_base& tx, const TargetTable& table,
                                           bool keep_unique) {
  std::vector<CopyIndex> out;
  const std::string ident = table.Ident();
  // A unique index of a table without a primary key may be what identifies its rows.
  for (const auto& r : tx.exec_params(
           "SELECT ic.relname, con.conname, con.contype, pg_get_indexdef(i.indexrelid), "
           "pg_get_constraintdef(con.oid), quote_ident(n.nspname) || '.' || "
           "quote_ident(ic.relname), i.indisunique "
           "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
           "JOIN pg_namespace n ON n.oid = ic.relnamespace "
           "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
           "AND con.conrelid = i.indrelid AND con.contype IN ('u', 'x') "
           "WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND NOT i.indisreplident "
           "AND i.indisvalid AND NOT ic.relispartition "
           "AND NOT ((i.indisunique OR con.contype = 'x') AND ($2 OR NOT EXISTS (SELECT 1 FROM "
           "pg_index p WHERE p.indrelid = i.indrelid AND p.indisprimary))) "
           "ORDER BY ic.relname",
           ident, keep_unique)) {
    CopyIndex index;
    index.table_schema = table.schema;
    index.table_name = table.name;
    index.name = r[0].as<std::string>();
    if (r[1].is_null()) {
      index.kind = r[6].as<bool>() ? "unique index" : "index";
      index.drop_sql = "DROP INDEX " + r[5].as<std::string>();
      index.create_sql = r[3].as<std::string>();
    } else {
      const std::string constraint = tx.quote_name(r[1].as<std::string>());
      index.name = r[1].as<std::string>();
      index.kind = r[2].as<std::string>() == "u" ? "unique constraint" : "exclusion constraint";
      index.drop_sql = "ALTER TABLE " + ident + " DROP CONSTRAINT " + constraint;
      index.create_sql =
          "ALTER TABLE " + ident + " ADD CONSTRAINT " + constraint + " " + r[4].as<std::string>();
    }
    out.push_back(std::move(index));
  }
  // Foreign keys of the table and into it: the latter may need a unique index dropped above,
  // and re-created they check every copied row.
  for (const auto& r : tx.exec_params(
           "SELECT con.conname, cn.nspname, c.relname, quote_ident(cn.nspname) || '.' || "
           "quote_ident(c.relname), pg_get_constraintdef(con.oid) "
           "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
           "JOIN pg_namespace cn ON cn.oid = c.relnamespace "
           "WHERE con.contype = 'f' AND con.conparentid = 0 "
           "AND (con.conrelid = $1::regclass OR con.confrelid = $1::regclass) "
           "ORDER BY c.relname, con.conname",
           ident)) {
    CopyIndex fk;
    fk.table_schema = r[1].as<std::string>();
    fk.table_name = r[2].as<std::string>();
    fk.name = r[0].as<std::string>();
    fk.kind = "foreign key";
    const std::string on = "ALTER TABLE " + r[3].as<std::string>();
    fk.drop_sql = on + " DROP CONSTRAINT " + tx.quote_name(fk.name);
    fk.create_sql = on + " ADD CONSTRAINT " + tx.quote_name(fk.name) + " " + r[4].as<std::string>();
    out.push_back(std::move(fk));
  }
  return out;
}

bool PostgresIndexExists(pqxx::transaction_base& tx, const CopyIndex& index) {
  const bool constraint = index.kind.find("constraint") != std::string::npos || index.foreign();
  const std::string table = "to_regclass(quote_ident($1) || '.' || quote_ident($2))";
  return !tx.exec_params(constraint ? "SELECT 1 FROM pg_constraint WHERE conrelid = " + table +
                                          " AND conname = $3"
                                    : "SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = "
                                      "i.indexrelid WHERE i.indrelid = " +
                                          table + " AND ic.relname = $3",
                         index.table_schema, index.table_name, index.name)
              .empty();
}

}  // namespace stagesync::apply
