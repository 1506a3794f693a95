// make_raw_append: a RawAppend for the byte-level log's tests (revision_log_test,
// free_space_test): revision rev of doc by "alice" of "uni-graz", sequence number rev of
// `client`, operation `op` ("op<rev>" when empty), a snapshot "snap<rev>" iff rev % k == 0.
// A plain function; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "storage/revision_log.hpp"

namespace jointly::storage::testing {

inline RawAppend make_raw_append(DocumentId doc, std::uint64_t rev, std::uint64_t k = 3,
                                 std::string client = "c1", std::string op = "") {
  RawAppend a;
  a.document = doc;
  a.rev = rev;
  a.info.author = "alice";
  a.info.institution = "uni-graz";
  a.info.server_time_ms = 1732900000000 + static_cast<std::int64_t>(rev);
  a.info.sections = {"s1"};
  a.info.client_id = std::move(client);
  a.info.client_seq = rev;
  a.op = op.empty() ? "op" + std::to_string(rev) : std::move(op);
  if (rev % k == 0) a.snapshot = "snap" + std::to_string(rev);
  return a;
}

}  // namespace jointly::storage::testing
