// Reading binlog event bytes: little- and big-endian integers, MySQL's packed integers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stagesync::capture::binlog {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Has(size_t n) const { return data_.size() >= n; }
  size_t left() const { return data_.size(); }
  std::string_view rest() const { return data_; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    data_.remove_prefix(n);
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (!Has(n)) return false;
    *out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool LittleEndian(size_t n, uint64_t* out) {
    if (!Has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(U8(i)) << (8 * i);
    data_.remove_prefix(n);
    *out = v;
    return true;
  }
  bool BigEndian(size_t n, uint64_t* out) {
    if (!Has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | U8(i);
    data_.remove_prefix(n);
    *out = v;
    return true;
  }
  // MySQL's length-encoded integer.
  bool Packed(uint64_t* out) {
    if (!Has(1)) return false;
    uint8_t first = U8(0);
    data_.remove_prefix(1);
    if (first < 251) {
      *out = first;
      return true;
    }
    size_t n = first == 252 ? 2 : first == 253 ? 3 : first == 254 ? 8 : 0;
    return n && LittleEndian(n, out);
  }
  bool PackedString(std::string* out) {
    uint64_t n = 0;
    std::string_view s;
    if (!Packed(&n) || !Bytes(n, &s)) return false;
    out->assign(s);
    return true;
  }

 private:
  uint8_t U8(size_t i) const { return static_cast<uint8_t>(data_[i]); }
  std::string_view data_;
};

}  // namespace stagesync::capture::binlog
