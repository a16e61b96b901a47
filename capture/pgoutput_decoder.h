// Decodes pgoutput (protocol version 1) messages into change events, keeping the relation
// cache current as the source announces (possibly changed) table shapes.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/status.h"

namespace stagesync::capture {

class PgoutputDecoder {
 public:
  // Decodes one message that arrived at WAL position `lsn`, appending 0 or 1 events.
  // A malformed message or a change for an unannounced relation is an error naming the LSN.
  Status Decode(std::string_view message, Lsn lsn, std::vector<ChangeEvent>* out);

  bool in_transaction() const { return in_transaction_; }
  // Relations announced since the stream started, by relation id.
  const std::unordered_map<uint32_t, RelationPtr>& relations() const { return relations_; }

 private:
  std::unordered_map<uint32_t, RelationPtr> relations_;
  bool in_transaction_ = false;
};

// PostgreSQL timestamps count microseconds from 2000-01-01; ours from 1970-01-01.
inline constexpr int64_t kPgEpochOffsetUs = 946684800LL * 1000000LL;

}  // namespace stagesync::capture
