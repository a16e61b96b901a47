// Kafka topic names both ways: where a table's changes, transactions and heartbeats go
// (Debezium's naming), and which topics apply consumes and may take a table's changes from.
#pragma once

#include <string>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::topics {

// <prefix>.<schema>.<table> (MySQL: <prefix>.<database>.<table>).
std::string TableTopic(const std::string& prefix, const std::string& schema,
                       const std::string& table);
std::string TransactionTopic(const std::string& prefix);  // <prefix>.transaction
std::string HeartbeatTopic(const std::string& prefix);    // __debezium-heartbeat.<prefix>
// stream.dead_letter_topic, default <prefix>.dead-letter.
std::string DeadLetterTopic(const Config& config);
// apply's consumer group: stream.group_id, default <prefix>-apply.
std::string ApplyGroupId(const Config& config);
// The regex of the topics apply consumes: the selected tables' under the prefix, and the
// topics [stream] routes names.
std::string ApplyTopicRegex(const Config& config);
// A record from `topic` may only change the table the topic names (or, where a Kafka Connect
// router renamed topics, the tables [stream] routes gives it), and never stagesync's own.
Status CheckRoute(const Config& config, const std::string& topic, const std::string& schema,
                  const std::string& table);

}  // namespace stagesync::topics
