// One side of verify's comparison, the source or the target: lists a table's column types,
// counts its rows and streams them as normalised text in key order; one implementation per
// engine.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "normalise.h"
#include "stagesync/config.h"

namespace stagesync::verify {

class Side {
 public:
  virtual ~Side() = default;
  virtual std::map<std::string, std::string> ColumnTypes(const std::string& schema,
                                                         const std::string& table) = 0;
  virtual int64_t Count(const std::string& schema, const std::string& table) = 0;
  // Starts streaming `columns` (with their types) ordered by the first `key_count`.
  virtual void Open(const std::string& schema, const std::string& table,
                    const std::vector<std::pair<std::string, std::string>>& columns,
                    size_t key_count) = 0;
  virtual bool Next(Row* row) = 0;

 protected:
  // The column as normalised text, and the key's ordering term, in this engine's SQL.
  virtual std::string TextOf(const std::string& name, const std::string& type) const = 0;
  virtual std::string OrderOf(const std::string& name, const std::string& text) const = 0;

  void SelectAndOrder(const std::vector<std::pair<std::string, std::string>>& columns,
                      size_t key_count, std::string* select, std::string* order) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& [name, type] = columns[i];
      std::string text = TextOf(name, type);
      *select += (i ? ", " : "") + text;
      if (i < key_count) {
        // Numbers order by value; text by its bytes, the same on both engines.
        *order += (i ? ", " : "") +
                  (KindOf(type) == Kind::kText ? OrderOf(name, text) : OrderOf(name, ""));
      }
    }
  }
};

// Connects to `endpoint`; throws with the driver's message.
std::unique_ptr<Side> OpenSide(const EndpointConfig& endpoint);

}  // namespace stagesync::verify
