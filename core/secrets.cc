// The dsn redaction and the secret registry behind every message stagesync lets out.
#include "stagesync/secrets.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>

#include "stagesync/config.h"

namespace stagesync {
namespace {

constexpr std::string_view kRedacted = "***";

bool IsSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// password, sslpassword, PASSWORD...: libpq's keywords are case-sensitive, but a misspelt
// case is still the user's password and must not be printed.
bool IsPasswordKey(std::string_view key) {
  return AsciiLower(std::string(key)).ends_with("password");
}

bool HasUriScheme(std::string_view dsn) {
  std::string lower = AsciiLower(std::string(dsn.substr(0, 16)));
  return lower.starts_with("postgresql://") || lower.starts_with("postgres://") ||
         lower.starts_with("mysql://");
}

void Found(std::vector<std::string>* found, std::string_view as_written, std::string unescaped) {
  if (!found) return;
  found->emplace_back(as_written);
  if (unescaped != as_written) found->push_back(std::move(unescaped));
}

std::string RedactUri(std::string_view dsn, std::vector<std::string>* found) {
  size_t rest = dsn.find("://") + 3;
  size_t query = std::min(dsn.find('?', rest), dsn.size());
  std::string out;
  size_t copied = 0;
  // user:password@host — the last '@' before the query: an unencoded '@' in a password
  // still leaves the whole password in front of it.
  size_t at = dsn.substr(0, query).rfind('@');
  if (at != std::string_view::npos && at >= rest) {
    size_t colon = dsn.substr(0, at).find(':', rest);
    if (colon != std::string_view::npos) {
      std::string_view pw = dsn.substr(colon + 1, at - colon - 1);
      Found(found, pw, PercentDecode(pw));
      out += dsn.substr(0, colon + 1);
      out += kRedacted;
      copied = at;
    }
  }
  for (size_t pos = query + 1; pos < dsn.size();) {
    size_t amp = std::min(dsn.find('&', pos), dsn.size());
    std::string_view pair = dsn.substr(pos, amp - pos);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && IsPasswordKey(PercentDecode(pair.substr(0, eq)))) {
      std::string_view pw = pair.substr(eq + 1);
      Found(found, pw, PercentDecode(pw));
      out += dsn.substr(copied, pos + eq + 1 - copied);
      out += kRedacted;
      copied = amp;
    }
    pos = amp + 1;
  }
  out += dsn.substr(std::min(copied, dsn.size()));
  return out;
}

// Follows libpq's conninfo_parse: keys end at '=' or a space, values are single-quoted
// (\' and \\ inside) or run to the next space (a backslash escaping the next character).
std::string RedactConninfo(std::string_view dsn, std::vector<std::string>* found) {
  std::string out;
  size_t copied = 0, i = 0;
  const size_t n = dsn.size();
  auto skip_spaces = [&] {
    while (i < n && IsSpace(dsn[i])) ++i;
  };
  while (true) {
    skip_spaces();
    if (i >= n) break;
    size_t key_start = i;
    while (i < n && dsn[i] != '=' && !IsSpace(dsn[i])) ++i;
    std::string_view key = dsn.substr(key_start, i - key_start);
    const size_t key_end = i;
    skip_spaces();
    if (i >= n || dsn[i] != '=') {
      // Not valid conninfo (libpq refuses it); what follows a password key is the password.
      if (IsPasswordKey(key)) {
        out += dsn.substr(copied, key_end - copied);
        out += " ";
        out += kRedacted;
        if (i < n) Found(found, dsn.substr(i), std::string(dsn.substr(i)));
        copied = n;
        break;
      }
      continue;
    }
    ++i;
    skip_spaces();
    size_t value_start = i;
    std::string value;
    if (i < n && dsn[i] == '\'') {
      for (++i; i < n; ++i) {
        if (dsn[i] == '\\' && i + 1 < n) {
          value += dsn[++i];
        } else if (dsn[i] == '\'') {
          ++i;
          break;
        } else {
          value += dsn[i];
        }
      }
    } else {
      for (; i < n && !IsSpace(dsn[i]); ++i) {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        value += dsn[i];
      }
    }
    std::string_view as_written = dsn.substr(value_start, i - value_start);
    std::string replacement;
    if (IsPasswordKey(key)) {
      Found(found, as_written, value);
      replacement = kRedacted;
    } else if (AsciiLower(std::string(key)) == "dbname" &&
               (HasUriScheme(value) || value.find('=') != std::string::npos)) {
      // libpq expands a dbname that is itself a connection string.
      std::string inner = RedactDsn(value, found);
      if (inner == value) continue;
      replacement = "'";
      for (char c : inner) {
        if (c == '\'' || c == '\\') replacement += '\\';
        replacement += c;
      }
      replacement += "'";
    } else {
      continue;
    }
    out += dsn.substr(copied, value_start - copied);
    out += replacement;
    copied = i;
  }
  out += dsn.substr(std::min(copied, n));
  return out;
}

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;  // longest first

}  // namespace

std::string RedactDsn(std::string_view dsn, std::vector<std::string>* found) {
  return HasUriScheme(dsn) ? RedactUri(dsn, found) : RedactConninfo(dsn, found);
}

void RegisterSecret(std::string_view secret) {
  if (secret.size() < kMinScrubbedSecretLength) return;
  std::lock_guard lock(g_secrets_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) != g_secrets.end()) return;
  auto at = std::find_if(g_secrets.begin(), g_secrets.end(),
                         [&](const std::string& s) { return s.size() < secret.size(); });
  g_secrets.emplace(at, secret);
}

std::string ScrubSecrets(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& secret : g_secrets) {
    for (size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec == std::errc() && p == in.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

}  // namespace stagesync
