#include "pgoutput_decoder.h"

#include <cstring>

namespace stagesync::capture {
namespace {

// Big-endian reader over one message; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return data_.size() - pos_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint16_t U16() { return static_cast<uint16_t>(Uint(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Uint(4)); }
  uint64_t U64() { return Uint(8); }
  std::string CString() {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::string Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t Uint(int n) {
    if (!Need(static_cast<size_t>(n))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_++]);
    return v;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool ReadTuple(Reader& r, Tuple* tuple) {
  uint16_t n = r.U16();
  tuple->clear();
  tuple->reserve(n);
  for (uint16_t i = 0; i < n && r.ok(); ++i) {
    switch (r.U8()) {
      case 'n':
        tuple->push_back(Value::Null());
        break;
      case 'u':
        tuple->push_back(Value::Unchanged());
        break;
      case 't':
      case 'b': {  // binary is never requested; treat it as opaque bytes if it appears
        uint32_t len = r.U32();
        tuple->push_back(Value::Text(r.Bytes(len)));
        break;
      }
      default:
        return false;
    }
  }
  return r.ok();
}

Status Malformed(char kind, Lsn lsn, const std::string& why) {
  return Status::Error("pgoutput message '" + std::string(1, kind) + "' at lsn=" + FormatLsn(lsn) +
                       " is malformed: " + why);
}

}  // namespace

Status PgoutputDecoder::Decode(std::string_view message, Lsn lsn, std::vector<ChangeEvent>* out) {
  if (message.empty()) return Status::Error("empty pgoutput message at lsn=" + FormatLsn(lsn));
  Reader r(message.substr(1));
  const char kind = message[0];
  auto relation_for = [&](uint32_t id, RelationPtr* rel) -> Status {
    auto it = relations_.find(id);
    if (it == relations_.end()) {
      return Malformed(kind, lsn, "relation " + std::to_string(id) + " was never announced");
    }
    *rel = it->second;
    return Status::Ok();
  };
  auto check_width = [&](const RelationPtr& rel, const Tuple& t) -> Status {
    if (t.size() != rel->columns.size()) {
      return Malformed(kind, lsn,
                       "tuple for " + rel->QualifiedName() + " has " + std::to_string(t.size()) +
                           " columns, relation has " + std::to_string(rel->columns.size()));
    }
    return Status::Ok();
  };

  switch (kind) {
    case 'B': {
      TxnBegin b;
      b.final_lsn = r.U64();
      b.commit_time = static_cast<int64_t>(r.U64()) + kPgEpochOffsetUs;
      b.xid = r.U32();
      if (!r.ok()) return Malformed(kind, lsn, "truncated");
      in_transaction_ = true;
      out->emplace_back(b);
      return Status::Ok();
    }
    case 'C': {
      TxnCommit c;
      r.U8();  // flags, unused
      c.commit_lsn = r.U64();
      c.end_lsn = r.U64();
      c.commit_time = static_cast<int64_t>(r.U64()) + kPgEpochOffsetUs;
      if (!r.ok()) return Malformed(kind, lsn, "truncated");
      in_transaction_ = false;
      out->emplace_back(c);
      return Status::Ok();
    }
    case 'O':  // origin of a replicated transaction: nothing to do for a single source
    case 'Y':  // type announcement: values are text, the target's own types parse them
      return Status::Ok();
    case 'R': {
      auto rel = std::make_shared<SourceRelation>();
      rel->id = r.U32();
      rel->schema = r.CString();
      if (rel->schema.empty()) rel->schema = "pg_catalog";
      rel->name = r.CString();
      rel->replica_identity = static_cast<char>(r.U8());
      uint16_t ncols = r.U16();
      for (uint16_t i = 0; i < ncols && r.ok(); ++i) {
        SourceColumn col;
        col.part_of_key = (r.U8() & 1) != 0;
        col.name = r.CString();
        col.type_oid = r.U32();
        col.type_modifier = static_cast<int32_t>(r.U32());
        rel->columns.push_back(std::move(col));
      }
      if (!r.ok()) return Malformed(kind, lsn, "truncated relation");
      relations_[rel->id] = std::move(rel);
      return Status::Ok();
    }
    case 'I': {
      RowChange c;
      c.op = RowOp::kInsert;
      c.lsn = lsn;
      if (Status s = relation_for(r.U32(), &c.relation); !s.ok()) return s;
      if (r.U8() != 'N' || !ReadTuple(r, &c.new_tuple)) return Malformed(kind, lsn, "bad tuple");
      if (Status s = check_width(c.relation, c.new_tuple); !s.ok()) return s;
      out->emplace_back(std::move(c));
      return Status::Ok();
    }
    case 'U': {
      RowChange c;
      c.op = RowOp::kUpdate;
      c.lsn = lsn;
      if (Status s = relation_for(r.U32(), &c.relation); !s.ok()) return s;
      uint8_t tag = r.U8();
      if (tag == 'K' || tag == 'O') {
        c.old_is_key_only = (tag == 'K');
        if (!ReadTuple(r, &c.old_tuple)) return Malformed(kind, lsn, "bad old tuple");
        if (Status s = check_width(c.relation, c.old_tuple); !s.ok()) return s;
        tag = r.U8();
      }
      if (tag != 'N' || !ReadTuple(r, &c.new_tuple)) return Malformed(kind, lsn, "bad new tuple");
      if (Status s = check_width(c.relation, c.new_tuple); !s.ok()) return s;
      out->emplace_back(std::move(c));
      return Status::Ok();
    }
    case 'D': {
      RowChange c;
      c.op = RowOp::kDelete;
      c.lsn = lsn;
      if (Status s = relation_for(r.U32(), &c.relation); !s.ok()) return s;
      uint8_t tag = r.U8();
      if (tag != 'K' && tag != 'O') return Malformed(kind, lsn, "delete without old tuple");
      c.old_is_key_only = (tag == 'K');
      if (!ReadTuple(r, &c.old_tuple)) return Malformed(kind, lsn, "bad old tuple");
      if (Status s = check_width(c.relation, c.old_tuple); !s.ok()) return s;
      out->emplace_back(std::move(c));
      return Status::Ok();
    }
    case 'T': {
      TruncateChange t;
      t.lsn = lsn;
      uint32_t n = r.U32();
      uint8_t options = r.U8();
      t.cascade = (options & 1) != 0;
      t.restart_identity = (options & 2) != 0;
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        RelationPtr rel;
        if (Status s = relation_for(r.U32(), &rel); !s.ok()) return s;
        t.relations.push_back(std::move(rel));
      }
      if (!r.ok()) return Malformed(kind, lsn, "truncated");
      out->emplace_back(std::move(t));
      return Status::Ok();
    }
    case 'M': {
      SourceMessage m;
      m.transactional = (r.U8() & 1) != 0;
      m.lsn = r.U64();
      m.prefix = r.CString();
      uint32_t len = r.U32();
      m.content = r.Bytes(len);
      if (!r.ok()) return Malformed(kind, lsn, "truncated");
      out->emplace_back(std::move(m));
      return Status::Ok();
    }
    default:
      return Malformed(kind, lsn, "unknown message type (is the slot using pgoutput protocol 1?)");
  }
}

}  // namespace stagesync::capture
