#include "stagesync/mysql.h"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <charconv>
#include <cstdio>

#include "stagesync/secrets.h"

namespace stagesync::mysql {

Status ParseDsn(const EndpointConfig& config, Endpoint* out) {
  std::string dsn = config.ConnectionString();
  const std::string_view scheme = "mysql://";
  auto bad = [&](const std::string& what) {
    return Status::Usage("dsn \"" + config.RedactedDsn() + "\": " + what +
                         "; write it as mysql://user@host:port/database");
  };
  if (dsn.rfind(scheme, 0) != 0) return bad("a MySQL dsn starts with mysql://");
  Endpoint e;
  std::string_view rest = std::string_view(dsn).substr(scheme.size());
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    e.database = PercentDecode(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      e.password = PercentDecode(userinfo.substr(colon + 1));
      userinfo = userinfo.substr(0, colon);
    }
    e.user = PercentDecode(userinfo);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port == 0 || e.port > 65535) {
      return bad("port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) e.host = std::string(rest);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    if (key == "password") {
      e.password = value;
    } else {
      return bad("unknown parameter \"" + std::string(key) + "\" (only password is understood)");
    }
  }
  *out = std::move(e);
  return Status::Ok();
}

std::string QuoteIdent(std::string_view ident) {
  std::string out = "`";
  for (char c : ident) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string QualifiedIdent(std::string_view db, std::string_view table) {
  return QuoteIdent(db) + "." + QuoteIdent(table);
}

std::unique_ptr<sql::Connection> Connect(const EndpointConfig& config, bool local_infile) {
  Endpoint e;
  if (Status s = ParseDsn(config, &e); !s.ok()) {
    throw sql::SQLException(s.message(), "HY000", 0);
  }
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString(e.host);
  options["port"] = static_cast<int>(e.port);
  options["userName"] = sql::SQLString(e.user);
  options["password"] = sql::SQLString(e.password);
  if (!e.database.empty()) options["schema"] = sql::SQLString(e.database);
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  options["OPT_CONNECT_TIMEOUT"] = 10;
  options["OPT_RECONNECT"] = false;
  if (local_infile) options["OPT_LOCAL_INFILE"] = 1;
  std::unique_ptr<sql::Connection> conn;
  try {
    conn.reset(sql::mysql::get_driver_instance()->connect(options));
    std::unique_ptr<sql::Statement> st(conn->createStatement());
    st->execute(
        "SET time_zone = '+00:00', sql_mode = 'NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'");
    // MySQL sessions carry no application name: this lock is how the cutover's fence tells
    // stagesync's sessions from the applications' (kSessionLockPrefix + CONNECTION_ID()).
    std::unique_ptr<sql::ResultSet>(st->executeQuery(
        std::string("SELECT GET_LOCK(CONCAT('") + kSessionLockPrefix + "', CONNECTION_ID()), 0)"));
  } catch (const sql::SQLException& ex) {
    throw sql::SQLException("cannot connect to " + config.RedactedDsn() + ": " + ex.what(),
                            ex.getSQLStateCStr() ? ex.getSQLStateCStr() : "HY000",
                            ex.getErrorCode());
  }
  return conn;
}

Rows Query(sql::Connection& conn, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(conn.createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  Rows out;
  const unsigned n = rs->getMetaData()->getColumnCount();
  while (rs->next()) {
    auto& row = out.emplace_back();
    for (unsigned i = 1; i <= n; ++i) {
      row.push_back(rs->isNull(i) ? "" : rs->getString(i).asStdString());
    }
  }
  return out;
}

void Exec(sql::Connection& conn, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(conn.createStatement());
  st->execute(sql);
}

std::string Describe(const std::exception& e) {
  std::string what = e.what();
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  if (auto* s = dynamic_cast<const sql::SQLException*>(&e); s && s->getErrorCode()) {
    what += " (MySQL error " + std::to_string(s->getErrorCode()) + ")";
  }
  return what;
}

bool IsConnectionLost(const sql::SQLException& e) {
  int code = e.getErrorCode();
  // CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR,
  // ER_CONNECTION_KILLED, ER_SERVER_SHUTDOWN, CR_SERVER_LOST_EXTENDED
  return code == 2006 || code == 2013 || code == 2002 || code == 2003 || code == 1927 ||
         code == 1053 || code == 2055;
}

Lsn PositionFrom(uint32_t file_sequence, uint32_t offset) {
  return (static_cast<Lsn>(file_sequence) << 32) | offset;
}

uint32_t FileSequence(std::string_view file_name) {
  auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return 0;
  uint32_t v = 0;
  auto digits = file_name.substr(dot + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return ec == std::errc() && p == digits.data() + digits.size() ? v : 0;
}

std::string FileName(std::string_view any_file_name, uint32_t sequence) {
  auto dot = any_file_name.rfind('.');
  std::string base(any_file_name.substr(0, dot));
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%06u", sequence);
  return base + buf;
}

std::string FormatPosition(std::string_view any_file_name, Lsn position) {
  return FileName(any_file_name, static_cast<uint32_t>(position >> 32)) + ":" +
         std::to_string(static_cast<uint32_t>(position));
}

}  // namespace stagesync::mysql
