#include "stagesync/topics.h"

namespace stagesync::topics {
namespace {

std::string RegexEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// "public.um_*" -> "stagesync\.public\.um_.*"
std::string GlobToTopicRegex(const std::string& prefix, const std::string& glob) {
  std::string out = RegexEscape(prefix) + "\\.";
  for (char c : glob) {
    if (c == '*')
      out += ".*";
    else if (c == '?')
      out += ".";
    else
      out += RegexEscape(std::string(1, c));
  }
  return out;
}

}  // namespace

std::string TableTopic(const std::string& prefix, const std::string& schema,
                       const std::string& table) {
  return prefix + "." + schema + "." + table;
}

std::string TransactionTopic(const std::string& prefix) {
  return prefix + ".transaction";
}

std::string HeartbeatTopic(const std::string& prefix) {
  return "__debezium-heartbeat." + prefix;
}

std::string DeadLetterTopic(const Config& config) {
  return config.stream.dead_letter_topic.empty() ? config.stream.topic_prefix + ".dead-letter"
                                                 : config.stream.dead_letter_topic;
}

std::string ApplyGroupId(const Config& config) {
  return config.stream.group_id.empty() ? config.stream.topic_prefix + "-apply"
                                        : config.stream.group_id;
}

std::string ApplyTopicRegex(const Config& config) {
  std::string regex = "^(";
  for (size_t i = 0; i < config.source.tables.size(); ++i) {
    regex += (i ? "|" : "") + GlobToTopicRegex(config.stream.topic_prefix, config.source.tables[i]);
  }
  for (const auto& [topic, glob] : config.stream.routes) regex += "|" + RegexEscape(topic);
  return regex + ")$";
}

Status CheckRoute(const Config& config, const std::string& topic, const std::string& schema,
                  const std::string& table) {
  const std::string named = schema + "." + table;
  const std::string own = TableTopic(config.stream.topic_prefix, schema, table);
  if (auto route = config.stream.routes.find(topic); route != config.stream.routes.end()) {
    if (!GlobMatch(route->second, named)) {
      return Status::Error("the record names source table " + named + ", but [stream] routes " +
                           "gives topic " + topic + " to " + route->second);
    }
  } else if (topic != own) {
    return Status::Error("the record names source table " + named + ", whose topic is " + own +
                         ": a record may only change the table its topic names (if a router "
                         "renamed the topic, declare it in [stream] routes)");
  }
  if (AsciiLower(schema) == "stagesync") {
    return Status::Error("the record names " + named +
                         ", stagesync's own bookkeeping, which no record may change");
  }
  return Status::Ok();
}

}  // namespace stagesync::topics
