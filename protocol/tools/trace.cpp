// Reading editing traces (see protocol/tools/trace.hpp).
#include "protocol/tools/trace.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"
#include "protocol/text_op.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {

namespace {

using json = nlohmann::json;

Error bad_trace(const std::string& where, const std::string& what) {
  return make_error("bad_trace", where + ": " + what);
}

std::string describe(const json& j) {
  std::string s = j.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return std::string(j.type_name()) + " " + s;
}

// A non-negative integer that fits std::size_t, or an error naming where.
Result<std::size_t> read_count(const json& j, const std::string& where) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v <= std::numeric_limits<std::size_t>::max()) return static_cast<std::size_t>(v);
  } else if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    return static_cast<std::size_t>(j.get<std::int64_t>());
  }
  return bad_trace(where, "expected a non-negative integer, got " + describe(j));
}

Result<std::string> read_text(const json& j, const std::string& where) {
  if (!j.is_string()) return bad_trace(where, "expected a string, got " + describe(j));
  std::string s = j.get<std::string>();
  if (Status st = utf8::validate(s); !st) {
    return make_error(st.error().code, where + ": " + st.error().message);
  }
  return s;
}

Result<TracePatch> read_patch(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() != 3) {
    return bad_trace(where, "expected [pos, deleteCount, \"text\"], got " + describe(j));
  }
  TracePatch p;
  auto pos = read_count(j[0], where + "[0]");
  if (!pos) return std::move(pos).error();
  auto del = read_count(j[1], where + "[1]");
  if (!del) return std::move(del).error();
  auto text = read_text(j[2], where + "[2]");
  if (!text) return std::move(text).error();
  p.pos = *pos;
  p.del = *del;
  p.text = std::move(*text);
  p.text_cp = utf8::count(p.text);
  return p;
}

Result<TraceTxn> read_txn(const json& j, std::size_t index, TraceKind kind) {
  const std::string where = "txns[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad_trace(where, "expected an object, got " + describe(j));
  TraceTxn t;
  if (kind == TraceKind::concurrent) {
    auto parents = j.find("parents");
    if (parents == j.end() || !parents->is_array()) {
      return bad_trace(where + ".parents", "expected an array of earlier txn indexes");
    }
    for (std::size_t k = 0; k < parents->size(); ++k) {
      const std::string pw = where + ".parents[" + std::to_string(k) + "]";
      auto p = read_count((*parents)[k], pw);
      if (!p) return std::move(p).error();
      if (*p >= index) {
        return bad_trace(pw, "parent " + std::to_string(*p) + " is not an earlier txn");
      }
      t.parents.push_back(*p);
    }
    auto agent = j.find("agent");
    if (agent == j.end()) return bad_trace(where + ".agent", "missing");
    auto a = read_count(*agent, where + ".agent");
    if (!a) return std::move(a).error();
    t.agent = *a;
  }
  auto patches = j.find("patches");
  if (patches == j.end() || !patches->is_array()) {
    return bad_trace(where + ".patches", "expected an array of patches");
  }
  t.patches.reserve(patches->size());
  for (std::size_t k = 0; k < patches->size(); ++k) {
    auto p = read_patch((*patches)[k], where + ".patches[" + std::to_string(k) + "]");
    if (!p) return std::move(p).error();
    t.patches.push_back(std::move(*p));
  }
  return t;
}

}  // namespace

std::size_t Trace::patch_count() const {
  std::size_t n = 0;
  for (const TraceTxn& t : txns) n += t.patches.size();
  return n;
}

Result<std::string> read_gzip_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("not_found", "cannot open " + path + ": " + std::strerror(errno));
  std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error("not_found", "cannot read " + path);
  if (packed.size() < 18 || static_cast<unsigned char>(packed[0]) != 0x1f ||
      static_cast<unsigned char>(packed[1]) != 0x8b) {
    return make_error("not_gzip", path + " is not a gzip file (no gzip header)");
  }

  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip wrapper.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return make_error("not_gzip", "cannot start decompressing " + path);
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  std::string out;
  out.resize(packed.size() * 4);
  zs.next_in = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_in = static_cast<uInt>(packed.size());
  std::size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) {
      return make_error("not_gzip", path + " is truncated (the gzip stream ends early)");
    }
    if (rc == Z_BUF_ERROR) continue;
    return make_error("not_gzip", path + " is corrupt: " + (zs.msg ? zs.msg : "inflate failed") +
                                      " after " + std::to_string(produced) + " bytes");
  }
  out.resize(produced);
  return out;
}

Result<Trace> parse_trace(std::string_view json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return make_error("bad_json", "not valid JSON near byte " + std::to_string(e.byte));
  }
  if (!doc.is_object()) return bad_trace("trace", "expected a JSON object, got " + describe(doc));
  Trace t;
  if (auto kind = doc.find("kind"); kind != doc.end()) {
    if (*kind == "concurrent") {
      t.kind = TraceKind::concurrent;
    } else if (*kind != "sequential") {
      return bad_trace("kind", "expected \"concurrent\" or none, got " + describe(*kind));
    }
  }
  if (auto start = doc.find("startContent"); start != doc.end()) {
    auto s = read_text(*start, "startContent");
    if (!s) return std::move(s).error();
    t.start_content = std::move(*s);
  } else if (t.kind == TraceKind::sequential) {
    return bad_trace("startContent", "missing");
  }
  auto end = doc.find("endContent");
  if (end == doc.end()) return bad_trace("endContent", "missing");
  auto e = read_text(*end, "endContent");
  if (!e) return std::move(e).error();
  t.end_content = std::move(*e);

  auto txns = doc.find("txns");
  if (txns == doc.end() || !txns->is_array()) {
    return bad_trace("txns", "expected an array of transactions");
  }
  t.txns.reserve(txns->size());
  for (std::size_t i = 0; i < txns->size(); ++i) {
    auto txn = read_txn((*txns)[i], i, t.kind);
    if (!txn) return std::move(txn).error();
    if (t.kind == TraceKind::concurrent) t.num_agents = std::max(t.num_agents, txn->agent + 1);
    t.txns.push_back(std::move(*txn));
  }
  if (t.kind == TraceKind::concurrent) {
    if (auto n = doc.find("numAgents"); n != doc.end()) {
      auto agents = read_count(*n, "numAgents");
      if (!agents) return std::move(agents).error();
      if (*agents < t.num_agents) {
        return bad_trace("numAgents", std::to_string(*agents) + " but agent " +
                                          std::to_string(t.num_agents - 1) + " appears");
      }
      t.num_agents = *agents;
    }
  }
  return t;
}

Result<Trace> read_trace(const std::string& path) {
  auto text = read_gzip_file(path);
  if (!text) return std::move(text).error();
  auto trace = parse_trace(*text);
  if (!trace) {
    Error err = std::move(trace).error();
    err.message = path + ": " + err.message;
    return err;
  }
  return trace;
}

// --- Replaying --------------------------------------------------------------------------------

namespace {

std::string patch_name(std::size_t txn, std::size_t patch) {
  return "txns[" + std::to_string(txn) + "].patches[" + std::to_string(patch) + "]";
}

void build_op(const TracePatch& p, TextOp& op) {
  op.clear();
  op.skip(p.pos).del(p.del).insert(p.text, p.text_cp);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Error unsupported(std::size_t txn, const std::string& why) {
  return make_error("unsupported_trace",
                    "txns[" + std::to_string(txn) + "]: " + why +
                        "; a server-ordered replay needs each agent to have seen its own earlier "
                        "txns and a prefix of the file's order of the others'");
}

}  // namespace

Status apply_patches(const Trace& trace, Rope& doc, TextOp& scratch) {
  for (std::size_t i = 0; i < trace.txns.size(); ++i) {
    const std::vector<TracePatch>& patches = trace.txns[i].patches;
    for (std::size_t k = 0; k < patches.size(); ++k) {
      build_op(patches[k], scratch);
      Status st = check(scratch, doc.size());
      if (st) st = apply(doc, scratch);
      if (!st) return make_error(st.error().code, patch_name(i, k) + ": " + st.error().message);
    }
  }
  return Status::Ok();
}

Result<SequentialReplay> replay_sequential(const Trace& trace) {
  if (trace.kind != TraceKind::sequential) {
    return make_error("wrong_kind", "a concurrent trace needs replay_concurrent");
  }
  SequentialReplay r;
  Rope doc(trace.start_content);
  TextOp scratch;
  const auto t0 = std::chrono::steady_clock::now();
  if (Status st = apply_patches(trace, doc, scratch); !st) return st.error();
  r.apply_ms = ms_since(t0);
  r.patches = trace.patch_count();
  r.final_chars = doc.size();
  r.matches_end =
      doc.size_bytes() == trace.end_content.size() && doc.to_string() == trace.end_content;
  return r;
}

namespace {

// One agent's replica, as the client state machine keeps it.
struct Replica {
  Rope doc;
  std::size_t rev = 0;         // server log entries received (applied or acknowledged)
  std::deque<TextOp> pending;  // own ops sent and not yet acknowledged, on top of doc's base
};

struct LogEntry {
  TextOp op;  // as the server applied it
  std::size_t agent;
};

// The server's side of one agent's state space (Jupiter): the log entries of other agents that
// the agent had not received when it last sent an op, each as transformed through the agent's
// ops logged after it. A new op of the agent is rebased by transforming it through these alone,
// so rebasing costs the number of unseen entries, not that times the agent's unacknowledged ops.
struct Bridge {
  std::size_t to = 0;  // log entries before this have been taken into `unseen`
  std::deque<std::pair<std::size_t, TextOp>> unseen;  // (log index, entry as described)
};

// Rebases op, made by an agent that has received `rev` log entries (and has every op of its own
// that was logged), over the log entries it had not received; updates the bridge.
TextOp rebase_on_server(TextOp op, std::size_t rev, const std::vector<LogEntry>& log,
                        Bridge& bridge, std::size_t& transforms) {
  while (!bridge.unseen.empty() && bridge.unseen.front().first < rev) bridge.unseen.pop_front();
  // Entries already in the bridge went through the agent's earlier ops; now through op too.
  for (auto& [index, s] : bridge.unseen) {
    TextOp rebased = transform(op, s, Side::left);
    s = transform(s, op, Side::right);
    op = std::move(rebased);
    transforms += 2;
  }
  // Entries logged since the agent's last op: none of its own ops came after them but op.
  for (std::size_t j = std::max(bridge.to, rev); j < log.size(); ++j) {
    TextOp s = transform(log[j].op, op, Side::right);
    op = transform(op, log[j].op, Side::left);
    bridge.unseen.emplace_back(j, std::move(s));
    transforms += 2;
  }
  bridge.to = log.size() + 1;  // the caller logs op next
  return op;
}

// An agent's replica receives log entries [from, to): an entry of its own acknowledges the head
// of `queue` (its unacknowledged ops, each on top of the previous); any other is transformed
// through the queue (the queue's ops on the left, as the server does) and applied to doc.
Status rebase(std::deque<TextOp>& queue, std::size_t agent, const std::vector<LogEntry>& log,
              std::size_t from, std::size_t to, Rope* doc, std::size_t& transforms) {
  for (std::size_t j = from; j < to; ++j) {
    if (log[j].agent == agent) {
      queue.pop_front();
      continue;
    }
    TextOp s = log[j].op;
    for (TextOp& q : queue) {
      TextOp q2 = transform(q, s, Side::left);
      s = transform(s, q, Side::right);
      q = std::move(q2);
      transforms += 2;
    }
    if (doc != nullptr) {
      if (Status st = apply(*doc, s); !st) {
        return make_error("internal", "log entry " + std::to_string(j) +
                                          " rebased does not fit agent " + std::to_string(agent) +
                                          "'s replica: " + st.error().message);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ConcurrentReplay> replay_concurrent(const Trace& trace) {
  if (trace.kind != TraceKind::concurrent) {
    return make_error("wrong_kind", "a sequential trace needs replay_sequential");
  }
  const std::size_t n = trace.txns.size();
  const std::size_t agents = std::max<std::size_t>(trace.num_agents, 1);
  if (agents > 4096 || n * agents > (std::size_t{1} << 28)) {
    return make_error("unsupported_trace", "too many agents (" + std::to_string(agents) + ") for " +
                                               std::to_string(n) + " txns");
  }
  ConcurrentReplay r;
  r.agents = agents;
  const auto t0 = std::chrono::steady_clock::now();

  // What each txn had seen, as a version vector: seen[i*agents + a] = how many of agent a's
  // txns (in file order) txn i was made after. Exact when each agent's txns form a chain.
  std::vector<std::uint32_t> seen(n * agents, 0);
  std::vector<std::vector<std::size_t>> by_agent(agents);  // txn indexes of each agent
  std::vector<std::size_t> seq(n);                         // position in its agent's list
  for (std::size_t i = 0; i < n; ++i) {
    const TraceTxn& t = trace.txns[i];
    std::uint32_t* v = &seen[i * agents];
    for (std::size_t p : t.parents) {
      const std::uint32_t* pv = &seen[p * agents];
      for (std::size_t a = 0; a < agents; ++a) v[a] = std::max(v[a], pv[a]);
      const std::size_t pa = trace.txns[p].agent;
      v[pa] = std::max<std::uint32_t>(v[pa], static_cast<std::uint32_t>(seq[p] + 1));
    }
    seq[i] = by_agent[t.agent].size();
    by_agent[t.agent].push_back(i);
    if (v[t.agent] != seq[i]) {
      return unsupported(i, "agent " + std::to_string(t.agent) + " had not seen its own txn " +
                                std::to_string(by_agent[t.agent][v[t.agent]]));
    }
  }

  std::vector<Replica> replicas(agents);
  std::vector<LogEntry> log;
  std::vector<std::size_t> log_start(n, 0);  // first log entry of each txn
  Rope server;
  std::vector<Bridge> bridges(agents);
  for (std::size_t i = 0; i < n; ++i) {
    const TraceTxn& t = trace.txns[i];
    const std::uint32_t* v = &seen[i * agents];
    // first_unseen: the first txn (file order) of another agent that txn i had not seen;
    // last_seen: the last one it had seen.
    std::size_t first_unseen = i;
    std::size_t last_seen = 0;
    bool any_seen = false;
    for (std::size_t a = 0; a < agents; ++a) {
      if (a == t.agent) continue;
      if (v[a] < by_agent[a].size()) first_unseen = std::min(first_unseen, by_agent[a][v[a]]);
      if (v[a] > 0) {
        last_seen = std::max(last_seen, by_agent[a][v[a] - 1]);
        any_seen = true;
      }
    }
    if (any_seen && last_seen > first_unseen) {
      return unsupported(i, "it had seen txn " + std::to_string(last_seen) + " but not txn " +
                                std::to_string(first_unseen));
    }
    Replica& me = replicas[t.agent];
    const std::size_t upto = first_unseen == i ? log.size() : log_start[first_unseen];
    if (upto < me.rev) {
      return unsupported(i, "agent " + std::to_string(t.agent) + " had already received txn " +
                                std::to_string(first_unseen));
    }
    // The agent receives what it had seen, then makes the txn on its replica.
    if (Status st = rebase(me.pending, t.agent, log, me.rev, upto, &me.doc, r.transforms); !st) {
      return st.error();
    }
    me.rev = upto;
    log_start[i] = log.size();
    for (std::size_t k = 0; k < t.patches.size(); ++k) {
      TextOp op;
      build_op(t.patches[k], op);
      if (Status st = check(op, me.doc.size()); !st) {
        return make_error(st.error().code, patch_name(i, k) + " on agent " +
                                               std::to_string(t.agent) +
                                               "'s replica: " + st.error().message);
      }
      (void)apply(me.doc, op);
      me.pending.push_back(op);
      // The server rebases it over what the agent had not seen, then applies and logs it.
      TextOp rebased = rebase_on_server(op, me.rev, log, bridges[t.agent], r.transforms);
      if (Status st = apply(server, rebased); !st) {
        return make_error("internal", patch_name(i, k) + " rebased does not fit the server: " +
                                          st.error().message);
      }
      log.push_back(LogEntry{std::move(rebased), t.agent});
      ++r.patches;
    }
  }
  r.converged = true;
  for (std::size_t a = 0; a < agents; ++a) {
    Replica& rep = replicas[a];
    if (Status st = rebase(rep.pending, a, log, rep.rev, log.size(), &rep.doc, r.transforms); !st) {
      return st.error();
    }
    rep.rev = log.size();
    if (!rep.pending.empty() || !(rep.doc == server)) r.converged = false;
  }
  r.merge_ms = ms_since(t0);
  r.final_chars = server.size();
  r.final_text = server.to_string();
  r.matches_end = r.final_text == trace.end_content;
  return r;
}

}  // namespace jointly::protocol
