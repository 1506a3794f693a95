// Editing traces: recordings of real typing in the public editing-traces JSON format
// (https://github.com/josephg/editing-traces), gzip-compressed. Used by jointly-replay, its test
// and the replay benchmark; see tests/traces/README.md for the format.
//
// A sequential trace is a list of patches applied in order to startContent, giving endContent.
// A concurrent trace ("kind": "concurrent") is a graph of transactions: each names its parents
// (earlier transactions it was made on; none = the empty document) and its agent, and its
// patches are relative to the document as it was at its parents.
//
// Positions and lengths count Unicode code points. Reading returns errors as values
// (protocol/result.hpp): not_found, not_gzip, bad_json, bad_trace, invalid_utf8.
// Plain values; no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace jointly::protocol {

class Rope;
class TextOp;

// Delete `del` code points at `pos`, then insert `text` at `pos`.
struct TracePatch {
  std::size_t pos = 0;
  std::size_t del = 0;
  std::string text;         // UTF-8, validated
  std::size_t text_cp = 0;  // code points in text
};

struct TraceTxn {
  std::vector<std::size_t> parents;  // concurrent traces only: indexes of earlier txns
  std::size_t agent = 0;             // concurrent traces only
  std::vector<TracePatch> patches;
};

enum class TraceKind { sequential, concurrent };

struct Trace {
  TraceKind kind = TraceKind::sequential;
  std::string start_content;   // UTF-8; always empty for concurrent traces
  std::string end_content;     // UTF-8
  std::size_t num_agents = 0;  // concurrent traces: 1 + the largest agent seen (or numAgents)
  std::vector<TraceTxn> txns;

  std::size_t patch_count() const;
};

// The whole decompressed contents of a gzip file (several concatenated gzip members are read
// as one stream, as gunzip does). Errors: not_found (cannot open or read), not_gzip (no gzip
// header, or the data is corrupt or truncated).
Result<std::string> read_gzip_file(const std::string& path);

// Parses a trace from its JSON text. Errors: bad_json (not JSON; the message gives the byte),
// bad_trace (JSON of the wrong shape; the message names the field, e.g. txns[3].patches[0][1]),
// invalid_utf8 (a text that is not UTF-8).
Result<Trace> parse_trace(std::string_view json_text);

// read_gzip_file then parse_trace; error messages start with the file's path.
Result<Trace> read_trace(const std::string& path);

// --- Replaying --------------------------------------------------------------------------------
// Replays go through the path the server takes for a submitted op: each patch becomes a TextOp
// (skip(pos).del(n).insert(text)), is checked against the document's length, then applied to a
// Rope (protocol::check and protocol::apply from protocol/text_op.hpp).

// Applies every patch of a sequential trace to doc, in order, reusing scratch for each op so that
// no op allocates once scratch has grown. The loop jointly-replay and the benchmark time.
// Error out_of_range naming the txn and patch when one does not fit the document.
Status apply_patches(const Trace& trace, Rope& doc, TextOp& scratch);

struct SequentialReplay {
  std::size_t patches = 0;
  std::size_t final_chars = 0;  // code points
  bool matches_end = false;     // the final text is endContent
  double apply_ms = 0;          // apply_patches alone: no reading, parsing or comparing
};

// Replays a sequential trace from startContent. Errors: wrong_kind (a concurrent trace), and
// apply_patches' errors.
Result<SequentialReplay> replay_sequential(const Trace& trace);

struct ConcurrentReplay {
  std::size_t agents = 0;
  std::size_t patches = 0;
  std::size_t final_chars = 0;  // code points, of the server's text
  bool converged = false;       // every agent's replica ends equal to the server's text
  bool matches_end = false;     // ... and that text is endContent (not required: see README)
  std::size_t transforms = 0;   // calls of protocol::transform
  double merge_ms = 0;
  std::string final_text;
};

// Merges a concurrent trace the way the server would (Jupiter, server-ordered): the server
// takes the txns in the order of the file; each agent keeps a replica and a queue of its own ops
// not yet acknowledged; a txn is made on its agent's replica when the agent has received exactly
// the server's ops its parents say it had seen, and the server rebases it over the ops the agent
// had not seen (transform, the submitted op on the left, as ShareDB does). At the end every
// agent receives the rest of the log and the replicas are compared.
// Error unsupported_trace when the causal shape is not one a server-ordered replay can follow:
// an agent that had not seen its own earlier txn, or one that had seen a later txn of the
// server's order without an earlier one (other than its own). Error out_of_range when a patch
// does not fit its replica.
Result<ConcurrentReplay> replay_concurrent(const Trace& trace);

}  // namespace jointly::protocol
