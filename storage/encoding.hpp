// Internal to storage/: the byte formats of keys and values (see storage/README.md).
//
// Keys are big-endian so that RocksDB's bytewise order is (document, revision) order.
// Values are length-prefixed fields with varint integers, after a one-byte record version.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/revision_log.hpp"

namespace jointly::storage::encoding {

inline void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}
// REQUIRES: p points at 8 readable bytes.
inline std::uint64_t get_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
// Reads a varint from the front of in and advances it. False if in is malformed.
inline bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

inline void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
inline bool get_bytes(std::string_view& in, std::string& s) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  s.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

// documents: be64(document)
inline std::string document_key(DocumentId id) {
  std::string k;
  put_be64(k, id);
  return k;
}
// revisions, snapshots: be64(document) be64(revision)
inline std::string revision_key(DocumentId id, std::uint64_t rev) {
  std::string k;
  k.reserve(16);
  put_be64(k, id);
  put_be64(k, rev);
  return k;
}
// dedupe: be64(document) varint(len) client_id be64(seq)
inline std::string dedupe_key(DocumentId id, std::string_view client_id, std::uint64_t seq) {
  std::string k;
  k.reserve(8 + 2 + client_id.size() + 8);
  put_be64(k, id);
  put_bytes(k, client_id);
  put_be64(k, seq);
  return k;
}

constexpr char kRevisionRecordVersion = 1;
constexpr char kDocumentRecordVersion = 1;

// revisions value: 0x01 varint(time) author institution client_id varint(seq)
//                  varint(#sections) sections... op [varint(restored_from)]
// (strings length-prefixed). restored_from is written only when it is not 0, so a record
// written before the field existed (or of a revision that is no restore) decodes as 0.
inline std::string encode_revision(const RevisionInfo& info, std::string_view op) {
  std::string v;
  v.reserve(16 + info.author.size() + info.institution.size() + info.client_id.size() + op.size());
  v.push_back(kRevisionRecordVersion);
  put_varint(v, static_cast<std::uint64_t>(info.server_time_ms));
  put_bytes(v, info.author);
  put_bytes(v, info.institution);
  put_bytes(v, info.client_id);
  put_varint(v, info.client_seq);
  put_varint(v, info.sections.size());
  for (const auto& s : info.sections) put_bytes(v, s);
  put_bytes(v, op);
  if (info.restored_from != 0) put_varint(v, info.restored_from);
  return v;
}

inline bool decode_revision(std::string_view in, RawRevision& r) {
  if (in.empty() || in.front() != kRevisionRecordVersion) return false;
  in.remove_prefix(1);
  std::uint64_t time = 0, n = 0;
  if (!get_varint(in, time)) return false;
  r.info.server_time_ms = static_cast<std::int64_t>(time);
  if (!get_bytes(in, r.info.author) || !get_bytes(in, r.info.institution) ||
      !get_bytes(in, r.info.client_id) || !get_varint(in, r.info.client_seq) ||
      !get_varint(in, n) || n > in.size()) {
    return false;
  }
  r.info.sections.resize(n);
  for (auto& s : r.info.sections) {
    if (!get_bytes(in, s)) return false;
  }
  if (!get_bytes(in, r.op)) return false;
  r.info.restored_from = 0;
  if (in.empty()) return true;
  return get_varint(in, r.info.restored_from) && r.info.restored_from != 0 && in.empty();
}

// documents value: 0x01 varint(created_ms) title
inline std::string encode_document(std::string_view title, std::int64_t created_ms) {
  std::string v;
  v.push_back(kDocumentRecordVersion);
  put_varint(v, static_cast<std::uint64_t>(created_ms));
  put_bytes(v, title);
  return v;
}

inline bool decode_document(std::string_view in, DocumentMeta& m) {
  if (in.empty() || in.front() != kDocumentRecordVersion) return false;
  in.remove_prefix(1);
  std::uint64_t created = 0;
  if (!get_varint(in, created) || !get_bytes(in, m.title) || !in.empty()) return false;
  m.created_ms = static_cast<std::int64_t>(created);
  return true;
}

}  // namespace jointly::storage::encoding
