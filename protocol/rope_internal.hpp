// Not API: access to a Rope's structure for its tests. Nothing outside tests/ includes this.
#pragma once

#include <string>

#include "protocol/rope.hpp"

namespace jointly::protocol {

struct RopeInternal {
  // "" when the tree keeps every invariant listed at the top of protocol/rope.cpp (counts agree
  // with the text, leaves at one depth, nodes filled within bounds, no code point split across
  // leaves); otherwise what is wrong, with the numbers.
  static std::string check(const Rope& r);
  // Depth of the tree (0: the root is a leaf) and number of leaves.
  static std::size_t depth(const Rope& r);
  static std::size_t leaves(const Rope& r);
};

}  // namespace jointly::protocol
