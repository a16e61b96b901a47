// COPY FROM STDIN through libpq directly: libpqxx 6.4 writes COPY data only as text lines, each
// copied and sent on its own, and has no binary COPY. Its transaction's libpq handle is reached
// the way its large objects reach it (a protected accessor of pqxx::largeobject).
#include "pg_copy_in.h"

#include <libpq-fe.h>

namespace stagesync::apply {
namespace {

struct LibpqHandle : pqxx::largeobject {
  static PGconn* Of(const pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

// The binary format's file header (signature, no flags, no extension) and trailer.
constexpr char kBinaryHeader[19] = {'P',  'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n',
                                    '\0', 0,   0,   0,   0,   0,   0,    0,      0};
constexpr char kBinaryTrailer[2] = {'\377', '\377'};
constexpr size_t kPiece = 1u << 20;

Status Failure(PGconn* conn, const std::string& what) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status::Transient("target connection lost during " + what + ": " + message);
  }
  return Status::Error(message);
}

}  // namespace

Status CopyIn(pqxx::dbtransaction& tx, const std::string& table,
              const std::vector<std::string>& columns, const RawRows& rows) {
  PGconn* conn = LibpqHandle::Of(tx);
  std::string sql = "COPY " + table + " (";
  for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i];
  sql += ") FROM STDIN";
  const bool binary = rows.format == RawFormat::kBinary;
  if (binary) sql += " (FORMAT binary)";
  PGresult* start = PQexec(conn, sql.c_str());
  const bool copying = PQresultStatus(start) == PGRES_COPY_IN;
  PQclear(start);
  if (!copying) return Failure(conn, "COPY");
  bool sent = !binary || PQputCopyData(conn, kBinaryHeader, sizeof kBinaryHeader) == 1;
  for (size_t at = 0; sent && at < rows.data.size(); at += kPiece) {
    const size_t n = std::min(kPiece, rows.data.size() - at);
    sent = PQputCopyData(conn, rows.data.data() + at, static_cast<int>(n)) == 1;
  }
  if (sent && binary) sent = PQputCopyData(conn, kBinaryTrailer, sizeof kBinaryTrailer) == 1;
  if (PQputCopyEnd(conn, sent ? nullptr : "stagesync: sending the rows failed") != 1) {
    return Failure(conn, "COPY");
  }
  Status status = Status::Ok();
  while (PGresult* r = PQgetResult(conn)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && status.ok()) {
      std::string message = PQresultErrorMessage(r);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      status = PQstatus(conn) == CONNECTION_OK
                   ? Status::Error(message)
                   : Status::Transient("target connection lost: " + message);
    }
    PQclear(r);
  }
  if (!sent && status.ok()) return Failure(conn, "COPY");
  return status;
}

void AppendCopyLine(const Tuple& row, const std::vector<size_t>& from, std::string* out) {
  for (size_t i = 0; i < from.size(); ++i) {
    if (i) *out += '\t';
    const Value& v = row[from[i]];
    if (v.is_null()) {
      *out += "\\N";
      continue;
    }
    for (char c : v.text) {
      switch (c) {
        case '\\':
          *out += "\\\\";
          break;
        case '\t':
          *out += "\\t";
          break;
        case '\n':
          *out += "\\n";
          break;
        case '\r':
          *out += "\\r";
          break;
        default:
          *out += c;
      }
    }
  }
  *out += '\n';
}

}  // namespace stagesync::apply
