// Templates for new documents: "blank" (one empty section, id "intro") and "demo" (a short demo
// course document with the design steps of a joint micro-credential course as sections, each with a
// placeholder prompt; the full template comes with a later issue).
//
// Pure functions; callable from any thread.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/document.hpp"

namespace jointly::server {

// The document for a template name, or nothing for an unknown name.
std::optional<protocol::Document> make_template(std::string_view name);

inline constexpr std::string_view kDemoTitle = "Demo: joint micro-credential course design";

}  // namespace jointly::server
