// `copy`'s PostgreSQL source: the slot created anew with its exported snapshot, held by a
// process of its own so a copy killed mid-way resumes in the same snapshot, and readers that
// COPY heap-page ranges out of it in the text format pgoutput sends values in.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"

namespace stagesync::capture {
namespace {

using Clock = std::chrono::steady_clock;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

std::string CopyApplicationName(const Config& config) {
  return "stagesync-copy " + config.source.slot;
}

PgConn Open(const Config& config, const std::string& application_name, bool replication) {
  std::string conninfo = config.source.ConnectionString();
  const char* keys[] = {"dbname", "options", "application_name",
                        replication ? "replication" : nullptr, nullptr};
  const char* values[] = {conninfo.c_str(), pg::kSessionOptions, application_name.c_str(),
                          "database", nullptr};
  return PgConn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
}

// Runs `sql`; the error (with `what`) when it does not return `expect`.
Status Exec(PGconn* conn, const std::string& sql, ExecStatusType expect, const std::string& what,
            PgResult* out = nullptr) {
  PgResult res(PQexec(conn, sql.c_str()));
  if (PQresultStatus(res.get()) != expect) {
    std::string err = ConnError(conn);
    if (PQstatus(conn) != CONNECTION_OK) return Status::Transient(what + ": " + err);
    return Status::Error(what + ": " + err);
  }
  if (out) *out = std::move(res);
  return Status::Ok();
}

// The holder: drops setup's slot, creates it again exporting a snapshot, says where on `fd`
// ("ok SNAPSHOT LSN PID" or "error MESSAGE"), then keeps the snapshot while a copy reads it:
// it exits once no connection of `copy` has been seen for copy.snapshot_hold (or on SIGTERM).
[[noreturn]] void HoldSnapshot(const Config& config, int fd) {
  auto say = [&](const std::string& line) {
    std::string text = line + "\n";
    (void)!write(fd, text.data(), text.size());
  };
  PgConn repl = Open(config, "stagesync-snapshot " + config.source.slot, true);
  if (PQstatus(repl.get()) != CONNECTION_OK) {
    say("error cannot open a replication connection to " + config.source.RedactedDsn() + ": " +
        ConnError(repl.get()));
    _exit(1);
  }
  std::string slot = pg::QuoteIdent(config.source.slot);
  PgResult res(PQexec(repl.get(), ("DROP_REPLICATION_SLOT " + slot).c_str()));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    std::string err = ConnError(repl.get());
    if (err.find("does not exist") == std::string::npos) {
      say("error dropping slot " + config.source.slot + " to create it with a snapshot: " + err +
          (err.find("active") != std::string::npos
               ? " (stop `stagesync run` or `capture` while the copy runs)"
               : ""));
      _exit(1);
    }
  }
  res.reset(
      PQexec(repl.get(),
             ("CREATE_REPLICATION_SLOT " + slot + " LOGICAL pgoutput EXPORT_SNAPSHOT").c_str()));
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) {
    say("error creating slot " + config.source.slot + ": " + ConnError(repl.get()));
    _exit(1);
  }
  say(std::string("ok ") + PQgetvalue(res.get(), 0, 2) + " " + PQgetvalue(res.get(), 0, 1) + " " +
      std::to_string(getpid()));
  close(fd);
  PgConn watch = Open(config, "stagesync-snapshot-watch " + config.source.slot, false);
  std::string count_sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = " +
                          pg::QuoteLiteral(CopyApplicationName(config));
  auto last_seen = Clock::now();
  while (Clock::now() - last_seen < config.copy.snapshot_hold) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    PgResult n(PQexec(watch.get(), count_sql.c_str()));
    if (PQresultStatus(n.get()) != PGRES_TUPLES_OK) _exit(1);  // cannot tell: let go
    if (std::strcmp(PQgetvalue(n.get(), 0, 0), "0") != 0) last_seen = Clock::now();
  }
  _exit(0);
}

// Starts the holder as a process of its own (a session leader, no terminal, nothing of ours
// open), so that killing `copy` leaves the snapshot in place; reads what it says.
Status StartHolder(const Config& config, std::string* snapshot, Lsn* position, int64_t* pid) {
  int fds[2];
  if (pipe(fds) != 0) return Status::Error(std::string("pipe: ") + std::strerror(errno));
  pid_t child = fork();
  if (child < 0) return Status::Error(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    // Nothing of the parent's signal handling: `copy` blocks SIGTERM in every thread, and the
    // holder must end on it.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; ++i) dup2(null, i);
    for (int i = 3; i < 1024; ++i) {
      if (i != fds[1]) close(i);
    }
    HoldSnapshot(config, fds[1]);
  }
  close(fds[1]);
  waitpid(child, nullptr, 0);
  std::string line;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  close(fds[0]);
  if (line.rfind("ok ", 0) != 0) {
    return Status::Error(line.rfind("error ", 0) == 0 ? line.substr(6)
                                                      : "the snapshot's holder ended unexpectedly");
  }
  char snap[128], lsn[64];
  long long holder = 0;
  if (std::sscanf(line.c_str(), "ok %127s %63s %lld", snap, lsn, &holder) != 3 || !ParseLsn(lsn)) {
    return Status::Error("the snapshot's holder said \"" + line + "\"");
  }
  *snapshot = snap;
  *position = *ParseLsn(lsn);
  *pid = holder;
  return Status::Ok();
}

// Whether `pid` is a stagesync process (the holder), so a stale pid is never signalled.
bool IsOurs(int64_t pid) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return !ec && exe == self;
}

// COPY text format's escapes undone.
void Unescape(const char* p, size_t n, std::string* out) {
  out->clear();
  out->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != '\\' || i + 1 == n) {
      out->push_back(p[i]);
      continue;
    }
    char e = p[++i];
    switch (e) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7'; ++k) {
            v = v * 8 + (p[++i] - '0');
          }
          out->push_back(static_cast<char>(v));
        } else {
          out->push_back(e);
        }
    }
  }
}

// The binary COPY format's file header: its signature, flags and extension area.
Status SkipBinaryHeader(std::string_view* data, const std::string& what) {
  constexpr std::string_view kSignature("PGCOPY\n\xff\r\n\0", 11);
  if (data->size() < 19 || data->substr(0, 11) != kSignature) {
    return Status::Error(what + ": COPY's binary output starts without its signature");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data->data()) + 15;
  const size_t extension = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (data->size() < 19 + extension) {
    return Status::Error(what + ": COPY's binary header is cut short");
  }
  data->remove_prefix(19 + extension);
  return Status::Ok();
}

class PostgresReader : public SnapshotReader {
 public:
  explicit PostgresReader(PgConn conn) : conn_(std::move(conn)) {}

  Status Read(const SnapshotTable& table, const TableRange& range,
              const std::function<Status(Tuple&&, size_t)>& row) override {
    const SourceRelation& rel = *table.relation;
    std::string field;
    return ReadRaw(table, range, false, [&](std::string_view line) {
      Tuple tuple;
      tuple.reserve(rel.columns.size());
      size_t start = 0;
      for (size_t i = 0; i <= line.size(); ++i) {
        if (i < line.size() && line[i] != '\t') continue;
        if (line.substr(start, i - start) == "\\N") {
          tuple.push_back(Value::Null());
        } else {
          Unescape(line.data() + start, i - start, &field);
          tuple.push_back(Value::Text(field));
        }
        start = i + 1;
      }
      if (tuple.size() != rel.columns.size()) {
        return Status::Error("reading " + rel.QualifiedName() + " from the source: a row of " +
                             std::to_string(tuple.size()) + " fields for " +
                             std::to_string(rel.columns.size()) + " columns");
      }
      return row(std::move(tuple), line.size() + 1);
    });
  }

  bool CanReadRaw() const override { return true; }

  Status ReadRaw(const SnapshotTable& table, const TableRange& range, bool binary,
                 const std::function<Status(std::string_view)>& row) override {
    const SourceRelation& rel = *table.relation;
    std::string cols;
    for (const auto& c : rel.columns) cols += (cols.empty() ? "" : ", ") + pg::QuoteIdent(c.name);
    std::string where;
    if (!range.lower.empty()) where += "ctid >= '(" + range.lower + ",0)'::tid";
    if (!range.upper.empty()) {
      where += (where.empty() ? "" : " AND ") + ("ctid < '(" + range.upper + ",0)'::tid");
    }
    std::string sql = "COPY (SELECT " + cols + " FROM ONLY " +
                      pg::QualifiedIdent(rel.schema, rel.name) +
                      (where.empty() ? "" : " WHERE " + where) + ") TO STDOUT" +
                      (binary ? " (FORMAT binary)" : "");
    std::string what = "reading " + rel.QualifiedName() + " from the source";
    if (Status s = Exec(conn_.get(), sql, PGRES_COPY_OUT, what); !s.ok()) return s;
    Status failed = Status::Ok();
    // One message per row; in binary, the file header comes with the first, and the trailer
    // (a field count of -1) alone at the end.
    bool first = true;
    while (true) {
      char* buf = nullptr;
      int n = PQgetCopyData(conn_.get(), &buf, 0);
      if (n == -1) break;
      if (n < 0) return Status::Transient(what + ": " + ConnError(conn_.get()));
      std::string_view data(buf, static_cast<size_t>(n));
      if (binary && first && failed.ok()) failed = SkipBinaryHeader(&data, what);
      first = false;
      if (!binary && !data.empty() && data.back() == '\n') data.remove_suffix(1);
      const bool trailer = binary && data == std::string_view("\xff\xff", 2);
      if (failed.ok() && !trailer && !data.empty()) failed = row(data);
      PQfreemem(buf);
    }
    PgResult end(PQgetResult(conn_.get()));
    if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) {
      return Status::Error(what + ": " + ConnError(conn_.get()));
    }
    while (PgResult more{PQgetResult(conn_.get())}) {
    }
    return failed;
  }

  PGconn* conn() { return conn_.get(); }

 private:
  PgConn conn_;
};

class PostgresSnapshot : public SourceSnapshot {
 public:
  PostgresSnapshot(const Config& config, std::string id, Lsn position, int64_t holder)
      : config_(config), id_(std::move(id)), position_(position), holder_(holder) {}

  // Opens `n` readers in the snapshot.
  Status Attach(int n) {
    for (int i = 0; i < n; ++i) {
      PgConn conn = Open(config_, CopyApplicationName(config_), false);
      if (PQstatus(conn.get()) != CONNECTION_OK) {
        return Status::Transient("cannot connect to the source " + config_.source.RedactedDsn() +
                                 ": " + ConnError(conn.get()));
      }
      if (Status s = Exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                          PGRES_COMMAND_OK, "source");
          !s.ok()) {
        return s;
      }
      PgResult res(
          PQexec(conn.get(), ("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(id_)).c_str()));
      if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
        std::string err = ConnError(conn.get());
        if (err.find("invalid snapshot identifier") != std::string::npos) {
          return Status::Usage("the source no longer holds snapshot " + id_ +
                               " (the process that held it ended)");
        }
        return Status::Error("source: SET TRANSACTION SNAPSHOT: " + err);
      }
      readers_.push_back(std::make_unique<PostgresReader>(std::move(conn)));
    }
    return Status::Ok();
  }

  const std::string& id() const override { return id_; }
  Lsn position() const override { return position_; }
  int64_t holder_pid() const override { return holder_; }

  Status Tables(std::vector<SnapshotTable>* out) override {
    PGconn* conn = readers_.front()->conn();
    PgResult tables;
    if (Status s = Exec(conn,
                        "SELECT c.oid, n.nspname, c.relname, c.relreplident, "
                        "greatest(c.reltuples, 0)::int8, pg_relation_size(c.oid) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
                        "n.nspname NOT IN ('pg_catalog', 'information_schema', 'stagesync') AND "
                        "n.nspname NOT LIKE 'pg\\_%' ORDER BY 2, 3",
                        PGRES_TUPLES_OK, "listing the source's tables", &tables);
        !s.ok()) {
      return s;
    }
    std::string locks;
    for (int i = 0; i < PQntuples(tables.get()); ++i) {
      std::string schema = PQgetvalue(tables.get(), i, 1), name = PQgetvalue(tables.get(), i, 2);
      if (!Selected(config_, schema + "." + name)) continue;
      auto rel = std::make_shared<SourceRelation>();
      rel->id = static_cast<uint32_t>(std::stoul(PQgetvalue(tables.get(), i, 0)));
      rel->schema = schema;
      rel->name = name;
      rel->replica_identity = PQgetvalue(tables.get(), i, 3)[0];
      // The columns as pgoutput announces them: no generated ones; the key as the replica
      // identity has it (every column with FULL).
      std::string sql =
          "SELECT a.attname, a.atttypid, a.atttypmod, CASE c.relreplident WHEN 'f' THEN true "
          "WHEN 'n' THEN false ELSE EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
          "AND CASE c.relreplident WHEN 'i' THEN i.indisreplident ELSE i.indisprimary END AND "
          "a.attnum = ANY(i.indkey)) END, format_type(a.atttypid, a.atttypmod), NOT "
          "a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity <> '' OR "
          "coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%', coalesce((SELECT k.n "
          "FROM "
          "pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, n) WHERE i.indrelid = c.oid AND "
          "i.indisprimary AND k.att = a.attnum), 0) FROM pg_attribute a JOIN pg_class c ON c.oid = "
          "a.attrelid "
          "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE "
          "a.attrelid = " +
          std::to_string(rel->id) +
          " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum";
      PgResult cols;
      TableDefinition definition;
      std::map<int, std::string> key_at;  // primary key position -> column
      if (Status s = Exec(conn, sql, PGRES_TUPLES_OK, "reading " + rel->QualifiedName(), &cols);
          !s.ok()) {
        return s;
      }
      for (int c = 0; c < PQntuples(cols.get()); ++c) {
        SourceColumn col;
        col.name = PQgetvalue(cols.get(), c, 0);
        col.type_oid = static_cast<uint32_t>(std::stoul(PQgetvalue(cols.get(), c, 1)));
        col.type_modifier = std::stoi(PQgetvalue(cols.get(), c, 2));
        col.part_of_key = PQgetvalue(cols.get(), c, 3)[0] == 't';
        ColumnDefinition def;
        def.source_type = PQgetvalue(cols.get(), c, 4);
        def.nullable = PQgetvalue(cols.get(), c, 5)[0] == 't';
        def.default_sql = PQgetvalue(cols.get(), c, 6);
        def.identity = PQgetvalue(cols.get(), c, 7)[0] == 't';
        if (int at = std::stoi(PQgetvalue(cols.get(), c, 8)); at > 0) key_at[at] = col.name;
        definition.columns.push_back(std::move(def));
        rel->columns.push_back(std::move(col));
      }
      locks += (locks.empty() ? "" : ", ") + pg::QualifiedIdent(schema, name);
      for (auto& [at, column] : key_at) definition.primary_key.push_back(column);
      out->push_back(SnapshotTable{rel, std::stoll(PQgetvalue(tables.get(), i, 4)),
                                   std::stoll(PQgetvalue(tables.get(), i, 5)),
                                   std::move(definition)});
    }
    // As pg_dump does: no table can be rewritten (its heap pages renumbered) or dropped
    // while the copy reads it; writes go on.
    if (!locks.empty()) {
      return Exec(conn, "LOCK TABLE " + locks + " IN ACCESS SHARE MODE", PGRES_COMMAND_OK,
                  "locking the copied tables against rewrites");
    }
    return Status::Ok();
  }

  Status Split(const SnapshotTable& table, int parts, std::vector<TableRange>* out) override {
    int64_t pages = table.bytes / 8192;
    int64_t n =
        std::min<int64_t>(parts, std::max<int64_t>(1, (table.bytes + config_.copy.part_bytes - 1) /
                                                          config_.copy.part_bytes));
    if (n <= 1 || pages < n) {
      out->push_back(TableRange{0, 1, "", ""});
      return Status::Ok();
    }
    for (int64_t i = 0; i < n; ++i) {
      out->push_back(TableRange{static_cast<int>(i), static_cast<int>(n),
                                i == 0 ? "" : std::to_string(i * pages / n),
                                i == n - 1 ? "" : std::to_string((i + 1) * pages / n)});
    }
    return Status::Ok();
  }

  std::vector<SnapshotReader*> Readers() override {
    std::vector<SnapshotReader*> out;
    for (auto& r : readers_) out.push_back(r.get());
    return out;
  }

  void Release() override {
    readers_.clear();
    if (holder_ > 0 && IsOurs(holder_)) kill(static_cast<pid_t>(holder_), SIGTERM);
  }

 private:
  const Config& config_;
  std::string id_;
  Lsn position_;
  int64_t holder_;
  std::vector<std::unique_ptr<PostgresReader>> readers_;
};

}  // namespace

Status TakePostgresSnapshot(const Config& config, int readers,
                            std::unique_ptr<SourceSnapshot>* out) {
  std::string id;
  Lsn position = 0;
  int64_t holder = 0;
  if (Status s = StartHolder(config, &id, &position, &holder); !s.ok()) return s;
  LOG_INFO("copy: slot " << config.source.slot << " created at " << FormatLsn(position)
                         << " with snapshot " << id << ", held by process " << holder);
  auto snapshot = std::make_unique<PostgresSnapshot>(config, id, position, holder);
  if (Status s = snapshot->Attach(readers); !s.ok()) {
    snapshot->Release();
    return s;
  }
  *out = std::move(snapshot);
  return Status::Ok();
}

Status ResumePostgresSnapshot(const Config& config, const std::string& id, Lsn position,
                              int64_t holder_pid, int readers,
                              std::unique_ptr<SourceSnapshot>* out) {
  auto snapshot = std::make_unique<PostgresSnapshot>(config, id, position, holder_pid);
  if (Status s = snapshot->Attach(readers); !s.ok()) return s;
  *out = std::move(snapshot);
  return Status::Ok();
}

}  // namespace stagesync::capture
