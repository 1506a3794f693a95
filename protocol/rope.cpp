// Rope: a B-tree of UTF-8 chunks (see protocol/rope.hpp for the contract).
//
// Layout. A Leaf holds up to kLeafCap bytes of text inline (no separate buffer, so editing a
// leaf never allocates). An Inner node holds up to kMaxChildren children together with each
// child's code-point and byte counts, so a descent reads only the nodes on its path. All leaves
// are at the same depth. Except for the root, a leaf holds at least kLeafMin bytes and an inner
// node at least kMinChildren children; splits make nodes about half full, so that a document of
// n bytes has O(n / kLeafCap) leaves and depth O(log n). A leaf never splits a code point.
//
// Fast path. Impl remembers the path to the leaf of the last edit, where that leaf starts (in
// code points) and a cursor (code point, byte) inside it. An edit that falls inside that leaf
// and neither overflows nor underflows it is a memmove in the leaf plus a count update along the
// remembered path: no descent, no allocation, and for a typist's next keystroke a UTF-8 scan of
// only the few bytes between the cursor and the edit (none at all when the leaf is ASCII).
// Every other edit takes the general path (recursive insert with splits, recursive erase with
// merges), which drops the remembered path because nodes may have moved or been freed.

#include "protocol/rope.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <vector>

#include "protocol/rope_internal.hpp"

namespace jointly::protocol {

namespace {

// 1 KiB: measured on the traces against 512 and 2048 (replay_bench, rope_direct).
constexpr std::size_t kLeafCap = 1024;
constexpr std::size_t kLeafMin = kLeafCap / 4;
// Chunk size aimed at when text is cut into leaves: a cut moves back to the start of a code
// point (at most 3 bytes), so a chunk never exceeds kLeafCap.
constexpr std::size_t kLeafTarget = kLeafCap - 8;
constexpr std::size_t kMaxChildren = 16;
constexpr std::size_t kMinChildren = kMaxChildren / 4;
// Depth bound: non-root inner nodes have >= 4 children and leaves >= 256 bytes, so depth 32
// would need more than 2^62 bytes.
constexpr std::size_t kMaxDepth = 32;

struct Node {
  explicit Node(bool is_leaf) : leaf(is_leaf) {}
  bool leaf;
};

struct Leaf : Node {
  Leaf() : Node(true) {}
  std::uint32_t bytes = 0;
  std::uint32_t cps = 0;
  char data[kLeafCap];
};

struct Inner : Node {
  Inner() : Node(false) {}
  std::uint32_t n = 0;
  std::size_t cps[kMaxChildren];
  std::size_t bytes[kMaxChildren];
  Node* kids[kMaxChildren];
};

// A child with its counts, used while regrouping children.
struct Entry {
  Node* node;
  std::size_t cps;
  std::size_t bytes;
};

Leaf* as_leaf(Node* n) { return static_cast<Leaf*>(n); }
const Leaf* as_leaf(const Node* n) { return static_cast<const Leaf*>(n); }
Inner* as_inner(Node* n) { return static_cast<Inner*>(n); }
const Inner* as_inner(const Node* n) { return static_cast<const Inner*>(n); }

inline bool is_cont(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Code points in p[0, n). REQUIRES: valid UTF-8. Written so the compiler vectorises it.
std::size_t count_cps(const char* p, std::size_t n) {
  std::size_t r = 0;
  for (std::size_t i = 0; i < n; ++i) r += !is_cont(p[i]);
  return r;
}

// Code-point starts (bytes other than 10xxxxxx) in the 8 bytes at p. A continuation byte has
// bit 7 set and bit 6 clear; (w << 1) moves each byte's bit 6 to its bit 7.
inline std::size_t starts_in_word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  // One bit per continuation byte, at bit 0 of its byte; the multiply sums the bytes into the top
  // byte (std::popcount is a library call unless the target has POPCNT).
  const std::uint64_t cont = (w & ~(w << 1) & kHighBits) >> 7;
  return 8 - static_cast<std::size_t>((cont * 0x0101010101010101ULL) >> 56);
}

// Byte offset k code points after byte offset b in p[0, n) (b starts a code point; n when the
// k-th is the end). REQUIRES: they exist. Skips eight bytes at a time while it can.
std::size_t forward(const char* p, std::size_t n, std::size_t b, std::size_t k) {
  // Invariant: the answer is the k-th code-point start at or after b (counting from 0).
  while (b + 8 <= n) {
    const std::size_t s = starts_in_word(p + b);
    if (s > k) break;
    k -= s;
    b += 8;
  }
  for (; b < n; ++b) {
    if (!is_cont(p[b])) {
      if (k == 0) return b;
      --k;
    }
  }
  return n;
}

// Byte offset k code points before byte offset b in p (b starts a code point or is the end).
// REQUIRES: they exist. Skips eight bytes at a time while it can.
std::size_t backward(const char* p, std::size_t b, std::size_t k) {
  // Invariant: the answer is the k-th code-point start before b (counting from 1).
  while (k > 0 && b >= 8) {
    const std::size_t s = starts_in_word(p + b - 8);
    if (s >= k) break;
    k -= s;
    b -= 8;
  }
  while (k > 0) {
    --b;
    if (!is_cont(p[b])) --k;
  }
  return b;
}

// Byte offset of code point c in a leaf, scanning from its start.
std::size_t leaf_offset(const Leaf* lf, std::size_t c) {
  if (lf->bytes == lf->cps) return c;  // ASCII
  if (c <= lf->cps / 2) return forward(lf->data, lf->bytes, 0, c);
  return backward(lf->data, lf->bytes, lf->cps - c);
}

std::size_t node_cps(const Node* n) {
  if (n->leaf) return as_leaf(n)->cps;
  const Inner* in = as_inner(n);
  std::size_t r = 0;
  for (std::uint32_t i = 0; i < in->n; ++i) r += in->cps[i];
  return r;
}

std::size_t node_bytes(const Node* n) {
  if (n->leaf) return as_leaf(n)->bytes;
  const Inner* in = as_inner(n);
  std::size_t r = 0;
  for (std::uint32_t i = 0; i < in->n; ++i) r += in->bytes[i];
  return r;
}

void free_tree(Node* n) {
  if (n->leaf) {
    delete as_leaf(n);
    return;
  }
  Inner* in = as_inner(n);
  for (std::uint32_t i = 0; i < in->n; ++i) free_tree(in->kids[i]);
  delete in;
}

Node* clone_tree(const Node* n) {
  if (n->leaf) {
    const Leaf* src = as_leaf(n);
    Leaf* lf = new Leaf;
    lf->bytes = src->bytes;
    lf->cps = src->cps;
    std::memcpy(lf->data, src->data, src->bytes);
    return lf;
  }
  const Inner* src = as_inner(n);
  Inner* in = new Inner;
  in->n = src->n;
  for (std::uint32_t i = 0; i < src->n; ++i) {
    in->cps[i] = src->cps[i];
    in->bytes[i] = src->bytes[i];
    in->kids[i] = nullptr;
  }
  // If an allocation fails part way, free what was copied so far and pass the failure on.
  for (std::uint32_t i = 0; i < src->n; ++i) {
    try {
      in->kids[i] = clone_tree(src->kids[i]);
    } catch (...) {
      in->n = i;
      free_tree(in);
      throw;
    }
  }
  return in;
}

void fill_leaf(Leaf* lf, const char* p, std::size_t n) {
  std::memcpy(lf->data, p, n);
  lf->bytes = static_cast<std::uint32_t>(n);
  lf->cps = static_cast<std::uint32_t>(count_cps(p, n));
}

// Cuts s into leaves of about equal size. The first goes into `first` when given (else a new
// leaf); the new leaves are appended to out in order.
void make_leaves(std::string_view s, Leaf* first, std::vector<Node*>& out) {
  std::size_t k = s.size() <= kLeafCap ? 1 : (s.size() + kLeafTarget - 1) / kLeafTarget;
  std::size_t prev = 0;
  for (std::size_t j = 1; j <= k; ++j) {
    std::size_t cut = j == k ? s.size() : j * s.size() / k;
    while (cut > prev && cut < s.size() && is_cont(s[cut])) --cut;
    Leaf* lf = (j == 1 && first != nullptr) ? first : new Leaf;
    fill_leaf(lf, s.data() + prev, cut - prev);
    if (lf != first) out.push_back(lf);
    prev = cut;
  }
}

void fill_inner(Inner* in, const Entry* e, std::size_t count) {
  assert(count <= kMaxChildren);
  in->n = static_cast<std::uint32_t>(count);
  for (std::size_t i = 0; i < count; ++i) {
    in->kids[i] = e[i].node;
    in->cps[i] = e[i].cps;
    in->bytes[i] = e[i].bytes;
  }
}

Entry entry_of(Node* n) { return Entry{n, node_cps(n), node_bytes(n)}; }

// Puts the children `all` into `in` and, when they are too many for one node, into new inner
// nodes of about equal size appended to extras.
void regroup(Inner* in, const std::vector<Entry>& all, std::vector<Node*>& extras) {
  std::size_t k = (all.size() + kMaxChildren - 1) / kMaxChildren;
  std::size_t prev = 0;
  for (std::size_t j = 1; j <= k; ++j) {
    std::size_t cut = j * all.size() / k;
    Inner* node = j == 1 ? in : new Inner;
    fill_inner(node, all.data() + prev, cut - prev);
    if (j > 1) extras.push_back(node);
    prev = cut;
  }
}

// Builds the levels above `level` (nodes of one depth, in order) up to a single root.
Node* build_up(std::vector<Node*> level) {
  while (level.size() > 1) {
    std::vector<Entry> all;
    all.reserve(level.size());
    for (Node* n : level) all.push_back(entry_of(n));
    std::vector<Node*> next;
    Inner* first = new Inner;
    next.push_back(first);
    regroup(first, all, next);
    level = std::move(next);
  }
  return level.front();
}

// Inserts s (cp code points) at code point pos of the subtree at node. When node has to split,
// the nodes that follow it are appended to extras.
void insert_rec(Node* node, std::size_t pos, std::string_view s, std::size_t cp,
                std::vector<Node*>& extras) {
  if (node->leaf) {
    Leaf* lf = as_leaf(node);
    std::size_t off = leaf_offset(lf, pos);
    if (lf->bytes + s.size() <= kLeafCap) {
      std::memmove(lf->data + off + s.size(), lf->data + off, lf->bytes - off);
      std::memcpy(lf->data + off, s.data(), s.size());
      lf->bytes += static_cast<std::uint32_t>(s.size());
      lf->cps += static_cast<std::uint32_t>(cp);
      return;
    }
    std::string all;
    all.reserve(lf->bytes + s.size());
    all.append(lf->data, off);
    all.append(s);
    all.append(lf->data + off, lf->bytes - off);
    make_leaves(all, lf, extras);
    return;
  }
  Inner* in = as_inner(node);
  std::uint32_t i = 0;
  while (i + 1 < in->n && pos > in->cps[i]) pos -= in->cps[i++];
  std::vector<Node*> sub;
  insert_rec(in->kids[i], pos, s, cp, sub);
  if (sub.empty()) {
    in->cps[i] += cp;
    in->bytes[i] += s.size();
    return;
  }
  std::vector<Entry> all;
  all.reserve(in->n + sub.size());
  for (std::uint32_t j = 0; j < in->n; ++j) {
    if (j == i) {
      all.push_back(entry_of(in->kids[j]));
      for (Node* x : sub) all.push_back(entry_of(x));
    } else {
      all.push_back(Entry{in->kids[j], in->cps[j], in->bytes[j]});
    }
  }
  regroup(in, all, extras);
}

bool underfull(const Node* n) {
  return n->leaf ? as_leaf(n)->bytes < kLeafMin : as_inner(n)->n < kMinChildren;
}

void remove_child(Inner* in, std::uint32_t i) {
  for (std::uint32_t j = i; j + 1 < in->n; ++j) {
    in->kids[j] = in->kids[j + 1];
    in->cps[j] = in->cps[j + 1];
    in->bytes[j] = in->bytes[j + 1];
  }
  --in->n;
}

void fix_children(Inner* in);

// Children a and a+1 of in (siblings): merges them into one when they fit, else shares their
// contents evenly between them (then both are at least half full).
void merge_or_share(Inner* in, std::uint32_t a) {
  Node* l = in->kids[a];
  Node* r = in->kids[a + 1];
  if (l->leaf) {
    Leaf* ll = as_leaf(l);
    Leaf* rl = as_leaf(r);
    if (ll->bytes + rl->bytes <= kLeafCap) {
      std::memcpy(ll->data + ll->bytes, rl->data, rl->bytes);
      ll->bytes += rl->bytes;
      ll->cps += rl->cps;
      delete rl;
      remove_child(in, a + 1);
    } else {
      char buf[2 * kLeafCap];
      std::size_t total = ll->bytes + rl->bytes;
      std::memcpy(buf, ll->data, ll->bytes);
      std::memcpy(buf + ll->bytes, rl->data, rl->bytes);
      std::size_t cut = total / 2;
      while (is_cont(buf[cut])) --cut;
      fill_leaf(ll, buf, cut);
      fill_leaf(rl, buf + cut, total - cut);
      in->cps[a + 1] = rl->cps;
      in->bytes[a + 1] = rl->bytes;
    }
    in->cps[a] = ll->cps;
    in->bytes[a] = ll->bytes;
    return;
  }
  Inner* li = as_inner(l);
  Inner* ri = as_inner(r);
  Entry all[2 * kMaxChildren];
  std::size_t total = 0;
  for (std::uint32_t j = 0; j < li->n; ++j) all[total++] = {li->kids[j], li->cps[j], li->bytes[j]};
  for (std::uint32_t j = 0; j < ri->n; ++j) all[total++] = {ri->kids[j], ri->cps[j], ri->bytes[j]};
  if (total <= kMaxChildren) {
    fill_inner(li, all, total);
    delete ri;
    remove_child(in, a + 1);
  } else {
    std::size_t cut = total / 2;
    fill_inner(li, all, cut);
    fill_inner(ri, all + cut, total - cut);
    in->cps[a + 1] = node_cps(ri);
    in->bytes[a + 1] = node_bytes(ri);
  }
  in->cps[a] = node_cps(li);
  in->bytes[a] = node_bytes(li);
  // A child of l or r may itself be underfull (it could not be fixed while it had no sibling):
  // now it has siblings.
  fix_children(li);
  if (total > kMaxChildren) fix_children(ri);
  in->cps[a] = node_cps(li);
  in->bytes[a] = node_bytes(li);
  if (total > kMaxChildren) {
    in->cps[a + 1] = node_cps(ri);
    in->bytes[a + 1] = node_bytes(ri);
  }
}

// Restores the fill invariant of in's children after an erase under in.
void fix_children(Inner* in) {
  std::uint32_t i = 0;
  while (i < in->n) {
    if (in->n < 2 || !underfull(in->kids[i])) {
      ++i;
      continue;
    }
    std::uint32_t a = i + 1 < in->n ? i : i - 1;
    merge_or_share(in, a);
    i = a;
  }
}

// Erases count > 0 code points at pos from the subtree at node (the range lies inside it and
// does not cover all of it). Returns the bytes removed.
std::size_t erase_rec(Node* node, std::size_t pos, std::size_t count) {
  if (node->leaf) {
    Leaf* lf = as_leaf(node);
    std::size_t b0 = leaf_offset(lf, pos);
    std::size_t b1 = forward(lf->data, lf->bytes, b0, count);
    std::memmove(lf->data + b0, lf->data + b1, lf->bytes - b1);
    lf->bytes -= static_cast<std::uint32_t>(b1 - b0);
    lf->cps -= static_cast<std::uint32_t>(count);
    return b1 - b0;
  }
  Inner* in = as_inner(node);
  std::size_t removed = 0;
  std::size_t start = 0;
  std::uint32_t w = 0;
  const std::size_t end = pos + count;
  for (std::uint32_t r = 0; r < in->n; ++r) {
    const std::size_t c = in->cps[r];
    const std::size_t lo = std::max(pos, start);
    const std::size_t hi = std::min(end, start + c);
    if (lo < hi) {
      if (lo == start && hi == start + c) {  // the whole child goes
        removed += in->bytes[r];
        free_tree(in->kids[r]);
        start += c;
        continue;
      }
      std::size_t rb = erase_rec(in->kids[r], lo - start, hi - lo);
      in->cps[r] -= hi - lo;
      in->bytes[r] -= rb;
      removed += rb;
    }
    start += c;
    in->kids[w] = in->kids[r];
    in->cps[w] = in->cps[r];
    in->bytes[w] = in->bytes[r];
    ++w;
  }
  in->n = w;
  fix_children(in);
  return removed;
}

void append_range(const Node* node, std::size_t pos, std::size_t count, std::string& out) {
  if (node->leaf) {
    const Leaf* lf = as_leaf(node);
    std::size_t b0 = leaf_offset(lf, pos);
    std::size_t b1 = lf->bytes == lf->cps ? b0 + count : forward(lf->data, lf->bytes, b0, count);
    out.append(lf->data + b0, b1 - b0);
    return;
  }
  const Inner* in = as_inner(node);
  std::size_t start = 0;
  const std::size_t end = pos + count;
  for (std::uint32_t i = 0; i < in->n && start < end; ++i) {
    const std::size_t c = in->cps[i];
    const std::size_t lo = std::max(pos, start);
    const std::size_t hi = std::min(end, start + c);
    if (lo < hi) append_range(in->kids[i], lo - start, hi - lo, out);
    start += c;
  }
}

void visit_leaves(const Node* node, void (*fn)(void*, std::string_view), void* ctx) {
  if (node->leaf) {
    const Leaf* lf = as_leaf(node);
    if (lf->bytes > 0) fn(ctx, std::string_view(lf->data, lf->bytes));
    return;
  }
  const Inner* in = as_inner(node);
  for (std::uint32_t i = 0; i < in->n; ++i) visit_leaves(in->kids[i], fn, ctx);
}

void collect_chunks(const Node* node, std::vector<std::string_view>& out) {
  visit_leaves(
      node,
      [](void* ctx, std::string_view s) {
        static_cast<std::vector<std::string_view>*>(ctx)->push_back(s);
      },
      &out);
}

}  // namespace

struct Rope::Impl {
  Impl() : root(new Leaf) {}
  ~Impl() { free_tree(root); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Node* root;
  std::size_t cps = 0;    // code points in the whole rope
  std::size_t bytes = 0;  // bytes in the whole rope

  // The remembered leaf (see the top of this file). Valid only while cached is true.
  bool cached = false;
  Leaf* leaf = nullptr;
  std::size_t leaf_start = 0;  // code point where leaf starts
  std::uint32_t depth = 0;     // inner nodes on the path from the root to leaf
  Inner* path_node[kMaxDepth];
  std::uint32_t path_idx[kMaxDepth];
  std::size_t cur_cp = 0;    // a code point in leaf ...
  std::size_t cur_byte = 0;  // ... and its byte offset

  // Descends to the leaf holding code point pos and remembers the path. With at_end, a
  // position where two leaves meet goes to the left one (an insert there appends to it);
  // otherwise to the right one (the one that holds the code point at pos).
  void locate(std::size_t pos, bool at_end) {
    Node* n = root;
    std::size_t start = 0;
    depth = 0;
    while (!n->leaf) {
      Inner* in = as_inner(n);
      std::uint32_t i = 0;
      if (at_end) {
        while (i + 1 < in->n && pos - start > in->cps[i]) start += in->cps[i++];
      } else {
        while (i + 1 < in->n && pos - start >= in->cps[i]) start += in->cps[i++];
      }
      assert(depth < kMaxDepth);
      path_node[depth] = in;
      path_idx[depth] = i;
      ++depth;
      n = in->kids[i];
    }
    leaf = as_leaf(n);
    leaf_start = start;
    cur_cp = 0;
    cur_byte = 0;
    cached = true;
  }

  // Byte offset of code point c of the remembered leaf, scanning from whichever known point
  // (start, cursor, end) is nearest.
  std::size_t offset_in_leaf(std::size_t c) const {
    const Leaf* lf = leaf;
    if (lf->bytes == lf->cps) return c;
    if (c >= cur_cp) {
      if (c - cur_cp <= lf->cps - c) return forward(lf->data, lf->bytes, cur_byte, c - cur_cp);
      return backward(lf->data, lf->bytes, lf->cps - c);
    }
    if (c <= cur_cp - c) return forward(lf->data, lf->bytes, 0, c);
    return backward(lf->data, cur_byte, cur_cp - c);
  }

  void add_along_path(std::ptrdiff_t dcps, std::ptrdiff_t dbytes) {
    for (std::uint32_t d = 0; d < depth; ++d) {
      path_node[d]->cps[path_idx[d]] += dcps;
      path_node[d]->bytes[path_idx[d]] += dbytes;
    }
    cps += dcps;
    bytes += dbytes;
  }

  void reset() {
    Node* fresh = new Leaf;  // first, so that a failed allocation leaves the rope as it was
    free_tree(root);
    root = fresh;
    cps = 0;
    bytes = 0;
    cached = false;
  }
};

Rope::Rope() : impl_(std::make_unique<Impl>()) {}

Rope::Rope(std::string_view utf8) : impl_(std::make_unique<Impl>()) {
  if (utf8.empty()) return;
  std::vector<Node*> leaves;
  make_leaves(utf8, as_leaf(impl_->root), leaves);
  leaves.insert(leaves.begin(), impl_->root);
  impl_->root = build_up(std::move(leaves));
  impl_->cps = count_cps(utf8.data(), utf8.size());
  impl_->bytes = utf8.size();
}

Rope::Rope(const Rope& other) : impl_(std::make_unique<Impl>()) {
  if (!other.impl_) return;
  Node* copy = clone_tree(other.impl_->root);
  free_tree(impl_->root);
  impl_->root = copy;
  impl_->cps = other.impl_->cps;
  impl_->bytes = other.impl_->bytes;
}

Rope& Rope::operator=(const Rope& other) {
  if (this != &other) {
    Rope copy(other);
    impl_ = std::move(copy.impl_);
  }
  return *this;
}

Rope::Rope(Rope&&) noexcept = default;
Rope& Rope::operator=(Rope&&) noexcept = default;
Rope::~Rope() = default;

std::size_t Rope::size() const { return impl_ ? impl_->cps : 0; }
std::size_t Rope::size_bytes() const { return impl_ ? impl_->bytes : 0; }

void Rope::insert(std::size_t pos, std::string_view utf8) {
  insert(pos, utf8, count_cps(utf8.data(), utf8.size()));
}

void Rope::insert(std::size_t pos, std::string_view utf8, std::size_t cp) {
  if (utf8.empty()) return;
  if (!impl_) impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  assert(pos <= m.cps);
  if (!m.cached || pos < m.leaf_start || pos > m.leaf_start + m.leaf->cps) m.locate(pos, true);
  Leaf* lf = m.leaf;
  if (lf->bytes + utf8.size() <= kLeafCap) {
    const std::size_t c = pos - m.leaf_start;
    const std::size_t off = m.offset_in_leaf(c);
    std::memmove(lf->data + off + utf8.size(), lf->data + off, lf->bytes - off);
    std::memcpy(lf->data + off, utf8.data(), utf8.size());
    lf->bytes += static_cast<std::uint32_t>(utf8.size());
    lf->cps += static_cast<std::uint32_t>(cp);
    m.add_along_path(static_cast<std::ptrdiff_t>(cp), static_cast<std::ptrdiff_t>(utf8.size()));
    m.cur_cp = c + cp;
    m.cur_byte = off + utf8.size();
    return;
  }
  m.cached = false;
  std::vector<Node*> extras;
  insert_rec(m.root, pos, utf8, cp, extras);
  if (!extras.empty()) {
    extras.insert(extras.begin(), m.root);
    m.root = build_up(std::move(extras));
  }
  m.cps += cp;
  m.bytes += utf8.size();
}

void Rope::erase(std::size_t pos, std::size_t count) {
  if (count == 0 || !impl_) return;
  Impl& m = *impl_;
  assert(pos + count <= m.cps);
  if (count == m.cps) {
    m.reset();
    return;
  }
  if (!m.cached || pos < m.leaf_start || pos + count > m.leaf_start + m.leaf->cps) {
    m.locate(pos, false);
  }
  Leaf* lf = m.leaf;
  if (pos + count <= m.leaf_start + lf->cps) {
    const std::size_t c = pos - m.leaf_start;
    const std::size_t b0 = m.offset_in_leaf(c);
    const std::size_t b1 =
        lf->bytes == lf->cps ? b0 + count : forward(lf->data, lf->bytes, b0, count);
    if (lf->bytes - (b1 - b0) >= kLeafMin || m.depth == 0) {
      std::memmove(lf->data + b0, lf->data + b1, lf->bytes - b1);
      lf->bytes -= static_cast<std::uint32_t>(b1 - b0);
      lf->cps -= static_cast<std::uint32_t>(count);
      m.add_along_path(-static_cast<std::ptrdiff_t>(count), -static_cast<std::ptrdiff_t>(b1 - b0));
      m.cur_cp = c;
      m.cur_byte = b0;
      return;
    }
  }
  m.cached = false;
  m.bytes -= erase_rec(m.root, pos, count);
  m.cps -= count;
  while (!m.root->leaf && as_inner(m.root)->n == 1) {
    Inner* old = as_inner(m.root);
    m.root = old->kids[0];
    delete old;
  }
}

std::string Rope::substr(std::size_t pos, std::size_t count) const {
  std::string out;
  if (count == 0 || !impl_) return out;
  assert(pos + count <= impl_->cps);
  out.reserve(count);
  append_range(impl_->root, pos, count, out);
  return out;
}

std::string Rope::to_string() const {
  std::string out;
  if (!impl_) return out;
  out.reserve(impl_->bytes);
  for_each_chunk([&out](std::string_view s) { out.append(s); });
  return out;
}

void Rope::visit_chunks(void (*fn)(void*, std::string_view), void* ctx) const {
  if (impl_) visit_leaves(impl_->root, fn, ctx);
}

bool operator==(const Rope& a, const Rope& b) {
  if (a.size() != b.size() || a.size_bytes() != b.size_bytes()) return false;
  if (a.size_bytes() == 0) return true;
  std::vector<std::string_view> ca, cb;
  collect_chunks(a.impl_->root, ca);
  collect_chunks(b.impl_->root, cb);
  std::size_t i = 0, j = 0, oi = 0, oj = 0;
  while (i < ca.size() && j < cb.size()) {
    std::size_t n = std::min(ca[i].size() - oi, cb[j].size() - oj);
    if (std::memcmp(ca[i].data() + oi, cb[j].data() + oj, n) != 0) return false;
    oi += n;
    oj += n;
    if (oi == ca[i].size()) ++i, oi = 0;
    if (oj == cb[j].size()) ++j, oj = 0;
  }
  return true;
}

namespace {

// Checks the subtree at n whose parent records (cps, bytes) for it; leaf_depth is the depth of
// the first leaf seen (-1 before). Appends problems to err.
void check_node(const Node* n, std::size_t cps, std::size_t bytes, bool is_root, int depth,
                int& leaf_depth, std::string& err) {
  if (!err.empty()) return;
  auto fail = [&](const std::string& what) { err = what + " at depth " + std::to_string(depth); };
  if (node_cps(n) != cps || node_bytes(n) != bytes) {
    return fail("counts " + std::to_string(node_cps(n)) + "/" + std::to_string(node_bytes(n)) +
                " recorded as " + std::to_string(cps) + "/" + std::to_string(bytes));
  }
  if (n->leaf) {
    const Leaf* lf = as_leaf(n);
    if (leaf_depth < 0) leaf_depth = depth;
    if (depth != leaf_depth) return fail("leaf not at depth " + std::to_string(leaf_depth));
    if (lf->bytes > kLeafCap) return fail("leaf of " + std::to_string(lf->bytes) + " bytes");
    if (!is_root && lf->bytes < kLeafMin) {
      return fail("underfull leaf of " + std::to_string(lf->bytes) + " bytes");
    }
    if (count_cps(lf->data, lf->bytes) != lf->cps) return fail("leaf code points miscounted");
    if (lf->bytes > 0 && is_cont(lf->data[0])) return fail("leaf starts inside a code point");
    return;
  }
  const Inner* in = as_inner(n);
  if (in->n > kMaxChildren || in->n < (is_root ? 2u : kMinChildren)) {
    return fail("inner node with " + std::to_string(in->n) + " children");
  }
  for (std::uint32_t i = 0; i < in->n; ++i) {
    check_node(in->kids[i], in->cps[i], in->bytes[i], false, depth + 1, leaf_depth, err);
  }
}

std::size_t count_leaves(const Node* n) {
  if (n->leaf) return 1;
  std::size_t r = 0;
  for (std::uint32_t i = 0; i < as_inner(n)->n; ++i) r += count_leaves(as_inner(n)->kids[i]);
  return r;
}

}  // namespace

std::string RopeInternal::check(const Rope& r) {
  if (!r.impl_) return "";
  const Rope::Impl& m = *r.impl_;
  std::string err;
  int leaf_depth = -1;
  check_node(m.root, m.cps, m.bytes, true, 0, leaf_depth, err);
  return err;
}

std::size_t RopeInternal::depth(const Rope& r) {
  std::size_t d = 0;
  for (const Node* n = r.impl_->root; !n->leaf; n = as_inner(n)->kids[0]) ++d;
  return d;
}

std::size_t RopeInternal::leaves(const Rope& r) { return count_leaves(r.impl_->root); }

}  // namespace jointly::protocol
