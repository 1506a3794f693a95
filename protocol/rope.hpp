// Rope: the text of one field of a document, UTF-8 in a balanced tree of chunks that know their
// byte and code-point counts, so that finding a position and editing there costs O(log n) plus
// the size of the edit, not O(n) copying.
//
// Positions and counts are Unicode code points. A Rope holds only valid UTF-8: callers validate
// text at the edge (see protocol/utf8.hpp) before it reaches a Rope.
// Not thread-safe: one owner (the document's strand) at a time; copies are independent.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace jointly::protocol {

class Rope {
 public:
  Rope();
  // REQUIRES: utf8 is valid UTF-8.
  explicit Rope(std::string_view utf8);
  Rope(const Rope& other);
  Rope& operator=(const Rope& other);
  Rope(Rope&&) noexcept;
  Rope& operator=(Rope&&) noexcept;
  ~Rope();

  std::size_t size() const;        // code points
  std::size_t size_bytes() const;  // UTF-8 bytes
  bool empty() const { return size() == 0; }

  // REQUIRES: pos <= size(); utf8 valid UTF-8 holding exactly cp code points.
  void insert(std::size_t pos, std::string_view utf8, std::size_t cp);
  void insert(std::size_t pos, std::string_view utf8);
  // REQUIRES: pos + count <= size().
  void erase(std::size_t pos, std::size_t count);

  // REQUIRES: pos + count <= size().
  std::string substr(std::size_t pos, std::size_t count) const;
  std::string to_string() const;

  // Calls f(std::string_view) for each chunk of the text, in order.
  template <class F>
  void for_each_chunk(F&& f) const;

  friend bool operator==(const Rope& a, const Rope& b);

 private:
  friend struct RopeInternal;  // tests' structural checks: protocol/rope_internal.hpp

  struct Impl;
  std::unique_ptr<Impl> impl_;
  // for_each_chunk's engine: calls fn(ctx, chunk) per chunk.
  void visit_chunks(void (*fn)(void*, std::string_view), void* ctx) const;
};

template <class F>
void Rope::for_each_chunk(F&& f) const {
  // f may be a const callable: its address travels as void* and is cast back with its const.
  visit_chunks(
      [](void* ctx, std::string_view s) { (*static_cast<std::remove_reference_t<F>*>(ctx))(s); },
      const_cast<std::remove_cvref_t<F>*>(std::addressof(f)));
}

}  // namespace jointly::protocol
