// Keeping passwords out of everything that leaves the process (CONTRACT.md: "Secrets never
// appear in logs, `status` output or the process list"): the one dsn redaction, and the
// registry of secret strings that every outgoing message is scrubbed of as a last line of
// defence (a driver's error that quotes a malformed dsn, a password somebody formatted by
// hand).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stagesync {

// `dsn` with the value of every password key (password, sslpassword, any spelling of the
// key's case) replaced by "***", everything else as written. Understands every spelling a
// user may write:
//   - libpq conninfo: key=value, spaces around '=', single-quoted values with spaces and
//     backslash escapes (of a quote or a backslash), backslash escapes in unquoted values; a dbname
//     that is itself a conninfo or URI is redacted too;
//   - postgres:// and postgresql:// URIs: user:password@ and ?password= (percent-encoded);
//   - mysql:// URIs, the same way.
// A value that runs off the end (an unterminated quote) is redacted to the end.
// The passwords found are appended to `found`, if given, both as written and unescaped.
std::string RedactDsn(std::string_view dsn, std::vector<std::string>* found = nullptr);

// Secrets shorter than this are not scrubbed as free text: erasing every "ab" from the
// messages would make them unreadable. RedactDsn still removes them from a dsn.
inline constexpr size_t kMinScrubbedSecretLength = 4;

// Adds `secret` to the process-wide registry (ignored if shorter than the minimum). Entries
// are never removed: a password that was rotated away may still sit in an old message.
// Thread-safe.
void RegisterSecret(std::string_view secret);

// `text` with every registered secret replaced by "***", longest first so a secret that
// contains another is removed whole. Every path that prints, logs, serves or stores a
// message calls this. Thread-safe.
std::string ScrubSecrets(std::string_view text);

// %XX decoding of a URI part (userinfo, path, query values), for the dsn parsers.
std::string PercentDecode(std::string_view in);

}  // namespace stagesync
