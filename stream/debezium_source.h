// The envelope's `source` block and transaction id: PostgreSQL connector or MySQL connector
// layout, by EncoderOptions::source_kind.
#pragma once

#include "debezium_types.h"
#include "stagesync/debezium.h"

namespace stagesync::debezium {

void WriteSourceSchema(JsonWriter& w, const EncoderOptions& options);
// `row`: the row's index in its binlog event (MySQL); `last_commit`: source.sequence[0].
void WriteSource(JsonWriter& w, const EncoderOptions& options, const SourceRelation& rel,
                 const TxnPosition& txn, Lsn lsn, uint32_t row, Lsn last_commit);
// PostgreSQL "<xid>:<commit LSN>"; MySQL the GTID, or "file=…,pos=…" of the transaction.
std::string TransactionId(const EncoderOptions& options, const TxnPosition& txn);

}  // namespace stagesync::debezium
