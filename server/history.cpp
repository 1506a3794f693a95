// History of a document: see server/history.hpp.
#include "server/history.hpp"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <set>

#include <sodium.h>
#include <dtl/dtl.hpp>
#include <nlohmann/json.hpp>

#include "protocol/utf8.hpp"
#include "server/templates.hpp"

namespace jointly::server {
namespace {

using protocol::make_error;

// ---- Tokens and diffs ----

enum class TokenClass { word, space, other };

TokenClass classify(unsigned char c) {
  if (c >= 0x80 || std::isalnum(c) || c == '_') return TokenClass::word;
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return TokenClass::space;
  return TokenClass::other;
}

// Runs of word characters (ASCII letters, digits, '_' and every non-ASCII character, so a
// UTF-8 sequence is never split), runs of white space, single other characters.
std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const TokenClass k = classify(static_cast<unsigned char>(s[i]));
    std::size_t j = i + 1;
    if (k != TokenClass::other) {
      while (j < s.size() && classify(static_cast<unsigned char>(s[j])) == k) ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void push(std::vector<DiffRun>& out, DiffRun::Kind kind, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == kind) {
    out.back().text.append(text);
  } else {
    out.push_back(DiffRun{kind, std::string(text)});
  }
}

bool is_space(const DiffRun& r) {
  return r.kind == DiffRun::Kind::equal && std::all_of(r.text.begin(), r.text.end(), [](char c) {
           return classify(static_cast<unsigned char>(c)) == TokenClass::space;
         });
}

// Reads better: white space alone between two changes joins them ("two exams" -> "one exam" is
// one change, not two around an unchanged space), and each change shows its deletion first.
std::vector<DiffRun> join_changes(const std::vector<DiffRun>& runs) {
  std::vector<DiffRun> out;
  std::size_t i = 0;
  while (i < runs.size()) {
    if (runs[i].kind == DiffRun::Kind::equal) {
      push(out, DiffRun::Kind::equal, runs[i++].text);
      continue;
    }
    std::string del, ins;
    while (i < runs.size()) {
      if (runs[i].kind == DiffRun::Kind::del) {
        del += runs[i++].text;
      } else if (runs[i].kind == DiffRun::Kind::insert) {
        ins += runs[i++].text;
      } else if (is_space(runs[i]) && i + 1 < runs.size() &&
                 runs[i + 1].kind != DiffRun::Kind::equal) {
        del += runs[i].text;
        ins += runs[i++].text;
      } else {
        break;
      }
    }
    push(out, DiffRun::Kind::del, del);
    push(out, DiffRun::Kind::insert, ins);
  }
  return out;
}

}  // namespace

std::string_view diff_kind_name(DiffRun::Kind k) {
  switch (k) {
    case DiffRun::Kind::equal:
      return "equal";
    case DiffRun::Kind::insert:
      return "insert";
    case DiffRun::Kind::del:
      return "delete";
  }
  return "equal";
}

std::string_view change_name(SectionDiff::Change c) {
  switch (c) {
    case SectionDiff::Change::added:
      return "added";
    case SectionDiff::Change::removed:
      return "removed";
    case SectionDiff::Change::changed:
      return "changed";
    case SectionDiff::Change::moved:
      return "moved";
  }
  return "changed";
}

std::vector<DiffRun> diff_words(std::string_view before, std::string_view after) {
  const auto a = tokens(before), b = tokens(after);
  // The common head and tail need no diff: an edit usually touches a few words of a long text.
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  std::vector<DiffRun> out;
  for (std::size_t i = 0; i < head; ++i) push(out, DiffRun::Kind::equal, a[i]);
  const std::vector<std::string_view> mid_a(a.begin() + head, a.end() - tail);
  const std::vector<std::string_view> mid_b(b.begin() + head, b.end() - tail);
  if (mid_a.empty() || mid_b.empty()) {
    for (auto t : mid_a) push(out, DiffRun::Kind::del, t);
    for (auto t : mid_b) push(out, DiffRun::Kind::insert, t);
  } else {
    dtl::Diff<std::string_view, std::vector<std::string_view>> d(mid_a, mid_b);
    d.onHuge();
    d.compose();
    for (const auto& [elem, info] : d.getSes().getSequence()) {
      const auto kind = info.type == dtl::SES_COMMON   ? DiffRun::Kind::equal
                        : info.type == dtl::SES_DELETE ? DiffRun::Kind::del
                                                       : DiffRun::Kind::insert;
      push(out, kind, elem);
    }
  }
  for (std::size_t i = a.size() - tail; i < a.size(); ++i) push(out, DiffRun::Kind::equal, a[i]);
  return join_changes(out);
}

namespace {

const protocol::Section* live(const protocol::Document& d, std::string_view id) {
  const auto* s = d.find(id);
  return s != nullptr && !s->removed ? s : nullptr;
}

// The ids live in both states that left the longest subsequence keeping its order.
std::set<std::string> moved_sections(const protocol::Document& before,
                                     const protocol::Document& after) {
  std::vector<std::string> a, b;
  for (const auto* s : before.ordered()) {
    if (live(after, s->id)) a.push_back(s->id);
  }
  for (const auto* s : after.ordered()) {
    if (live(before, s->id)) b.push_back(s->id);
  }
  std::set<std::string> moved;
  if (a == b) return moved;
  dtl::Diff<std::string, std::vector<std::string>> d(a, b);
  d.compose();
  for (const auto& [id, info] : d.getSes().getSequence()) {
    if (info.type != dtl::SES_COMMON) moved.insert(id);
  }
  return moved;
}

}  // namespace

std::vector<SectionDiff> diff_documents(const protocol::Document& before,
                                        const protocol::Document& after,
                                        std::optional<std::string_view> section) {
  const auto moved = moved_sections(before, after);
  // The newer state's order, then sections live only before, where they stood before.
  std::vector<std::string> order;
  for (const auto* s : after.ordered()) order.push_back(s->id);
  for (const auto* s : before.ordered()) {
    if (!live(after, s->id)) order.push_back(s->id);
  }
  std::vector<SectionDiff> out;
  for (const auto& id : order) {
    if (section && id != *section) continue;
    const auto* b = live(before, id);
    const auto* a = live(after, id);
    SectionDiff d;
    d.id = id;
    // A section live on one side only: all its text is inserted (or deleted), named fields
    // with text included (a unit added since shows its credits and outcomes too).
    const auto whole = [&d](const protocol::Section& s, DiffRun::Kind kind) {
      push(d.title, kind, s.title.to_string());
      push(d.body, kind, s.body.to_string());
      for (const auto& [name, text] : s.fields) {
        std::vector<DiffRun> runs;
        push(runs, kind, text.to_string());
        if (!runs.empty()) d.fields.emplace_back(name, std::move(runs));
      }
    };
    if (b == nullptr) {
      d.change = SectionDiff::Change::added;
      whole(*a, DiffRun::Kind::insert);
    } else if (a == nullptr) {
      d.change = SectionDiff::Change::removed;
      whole(*b, DiffRun::Kind::del);
    } else {
      d.moved = moved.count(id) > 0;
      for (const auto& [name, text] : a->fields) {
        const auto* old = b->field(name);
        if (old == nullptr || !(*old == text)) {
          d.fields.emplace_back(name, diff_words(old ? old->to_string() : "", text.to_string()));
        }
      }
      const bool same_text = a->title == b->title && a->body == b->body && d.fields.empty();
      if (same_text && !d.moved && !section) continue;
      d.change = same_text && d.moved ? SectionDiff::Change::moved : SectionDiff::Change::changed;
      d.title = diff_words(b->title.to_string(), a->title.to_string());
      d.body = diff_words(b->body.to_string(), a->body.to_string());
    }
    out.push_back(std::move(d));
  }
  return out;
}

// ---- Restore ----

namespace {

// The text op that turns `from` into `to`, word by word.
protocol::TextOp text_op(const protocol::Rope& from, const protocol::Rope& to) {
  protocol::TextOp op;
  if (from == to) return op;
  for (const auto& run : diff_words(from.to_string(), to.to_string())) {
    const std::size_t cp = protocol::utf8::count(run.text);
    switch (run.kind) {
      case DiffRun::Kind::equal:
        op.skip(cp);
        break;
      case DiffRun::Kind::insert:
        op.insert(run.text, cp);
        break;
      case DiffRun::Kind::del:
        op.del_text(run.text, cp);
        break;
    }
  }
  return op.trim();
}

protocol::Error locked(std::string_view id) {
  return make_error("section_locked",
                    "section " + std::string(id) + " is locked: unlock it before restoring it");
}

}  // namespace

protocol::Result<protocol::DocOp> make_restore_op(const protocol::Document& now,
                                                  const protocol::Document& then,
                                                  std::optional<std::string_view> section) {
  std::vector<std::string> ids;
  if (section) {
    if (now.find(*section) == nullptr && then.find(*section) == nullptr) {
      return make_error("not_found", "no section " + std::string(*section));
    }
    ids.emplace_back(*section);
  } else {
    for (const auto& [id, s] : now.sections()) ids.push_back(id);
    for (const auto& [id, s] : then.sections()) {
      if (now.find(id) == nullptr) ids.push_back(id);
    }
  }
  protocol::DocOp op;
  for (const auto& id : ids) {
    const protocol::Section* n = now.find(id);
    const protocol::Section* t = then.find(id);
    const bool n_live = n != nullptr && !n->removed;
    const bool t_live = t != nullptr && !t->removed;
    if (n == nullptr) {
      // Only in the older state: it cannot be, since ids are never forgotten; `then` is not
      // an earlier state of `now`.
      return make_error("invalid_request",
                        "section " + id + " is in the earlier state but not in the current one");
    }
    if (!t_live) {
      if (n_live) {
        if (n->locked) return locked(id);
        op.components.push_back(protocol::SectionRemove{id});
      }
      continue;
    }
    if (!n_live) {
      protocol::FieldTexts fields;
      for (const auto& [name, text] : t->fields) fields[name] = text.to_string();
      op.components.push_back(protocol::SectionRestore{id, t->title.to_string(),
                                                       t->body.to_string(), std::move(fields)});
    } else {
      std::vector<protocol::SectionEdit> edits;
      if (auto title = text_op(n->title, t->title); !title.empty()) {
        edits.push_back(protocol::SectionEdit{id, protocol::Field::title, std::move(title)});
      }
      if (auto body = text_op(n->body, t->body); !body.empty()) {
        edits.push_back(protocol::SectionEdit{id, protocol::Field::body, std::move(body)});
      }
      for (const auto& [name, text] : t->fields) {
        const protocol::Rope* current = n->field(name);
        auto field = protocol::Field::named(name);
        if (current == nullptr || !field.ok()) continue;  // fields are fixed when added
        if (auto edit = text_op(*current, text); !edit.empty()) {
          edits.push_back(protocol::SectionEdit{id, *field, std::move(edit)});
        }
      }
      if (n->locked && (!edits.empty() || n->position != t->position)) return locked(id);
      for (auto& e : edits) op.components.push_back(std::move(e));
    }
    if (n->position != t->position) {
      op.components.push_back(protocol::SectionMove{id, t->position});
    }
  }
  return op;
}

// ---- Blame ----

namespace {

protocol::Error from_storage(const storage::Status& s) {
  if (s.code() == storage::Code::not_found) return make_error("not_found", s.message());
  return make_error("storage_failed", s.to_string());
}

protocol::Status spans(const std::vector<storage::BlameRun>& runs, const protocol::Rope& text,
                       const storage::SectionBlame& blame, std::vector<BlameSpan>& out) {
  std::size_t pos = 0;
  for (const auto& run : runs) {
    if (pos + run.length > text.size()) {
      return make_error("storage_failed", "the blame does not fit the text");
    }
    BlameSpan s;
    s.text = text.substr(pos, run.length);
    pos += run.length;
    s.rev = run.rev;
    const auto* who = blame.author_of(run.rev);
    if (who == nullptr) return make_error("storage_failed", "a blame run has no author");
    s.author = who->author;
    s.institution = who->institution;
    s.time_ms = who->time_ms;
    out.push_back(std::move(s));
  }
  if (pos != text.size()) return make_error("storage_failed", "the blame does not fit the text");
  return protocol::Status::Ok();
}

}  // namespace

protocol::Result<SectionBlameView> blame_section(storage::Store& store, storage::DocumentId id,
                                                 std::string_view section, std::uint64_t rev) {
  try {
    storage::History history(store);
    auto b = history.blame(id, section, rev);
    if (!b.ok()) return from_storage(b.status());
    auto doc = store.load_at(id, rev);
    if (!doc.ok()) return from_storage(doc.status());
    SectionBlameView v;
    v.rev = rev;
    v.live = b->live;
    const protocol::Section* s = live(doc->doc, section);
    if (b->live != (s != nullptr)) {
      return make_error("storage_failed", "the blame of section " + std::string(section) +
                                              " disagrees with the document");
    }
    if (s == nullptr) return v;
    if (auto st = spans(b->title, s->title, *b, v.title); !st.ok()) return st.error();
    if (auto st = spans(b->body, s->body, *b, v.body); !st.ok()) return st.error();
    static const std::vector<storage::BlameRun> kNone;
    for (const auto& [name, text] : s->fields) {
      const auto runs = b->fields.find(name);
      auto& out = v.fields.emplace_back(name, std::vector<BlameSpan>{}).second;
      if (auto st = spans(runs == b->fields.end() ? kNone : runs->second, text, *b, out);
          !st.ok()) {
        return st.error();
      }
    }
    return v;
  } catch (const std::exception& e) {
    return make_error("storage_failed", std::string("blame: ") + e.what());
  }
}

protocol::Result<std::vector<SectionContributions>> contributions(storage::Store& store,
                                                                  storage::DocumentId id,
                                                                  std::uint64_t rev) {
  try {
    storage::History history(store);
    auto doc = store.load_at(id, rev);
    if (!doc.ok()) return from_storage(doc.status());
    std::vector<SectionContributions> out;
    for (const auto* s : doc->doc.ordered()) {
      auto b = history.blame(id, s->id, rev);
      if (!b.ok()) return from_storage(b.status());
      std::map<std::string, InstitutionShare> shares;
      SectionContributions c;
      c.id = s->id;
      c.title = s->title.to_string();
      std::vector<const std::vector<storage::BlameRun>*> all{&b->title, &b->body};
      for (const auto& [name, runs] : b->fields) all.push_back(&runs);
      for (const auto* runs : all) {
        for (const auto& run : *runs) {
          c.characters += run.length;
          const auto* who = b->author_of(run.rev);
          if (who == nullptr) return make_error("storage_failed", "a blame run has no author");
          auto& share = shares[who->institution];
          share.institution = who->institution;
          share.characters += run.length;
        }
      }
      auto per = history.section_institutions(id, s->id, rev);
      if (!per.ok()) return from_storage(per.status());
      for (const auto& p : *per) {
        auto& share = shares[p.institution];
        share.institution = p.institution;
        share.revisions = p.revisions;
      }
      for (auto& [name, share] : shares) c.institutions.push_back(std::move(share));
      out.push_back(std::move(c));
    }
    return out;
  } catch (const std::exception& e) {
    return make_error("storage_failed", std::string("contributions: ") + e.what());
  }
}

// ---- Export ----

namespace {

std::string one_line(std::string s) {
  for (auto& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string markdown_to_html(const std::string& md) {
  // GitHub's Markdown, as the client's preview (markdown-it) renders it: tables, ~~strike~~,
  // bare links and task lists too. CMARK_OPT_DEFAULT is safe mode: raw HTML is replaced by a
  // comment and javascript:, vbscript:, file: and most data: URLs are dropped (only
  // CMARK_OPT_UNSAFE lets them through); the extensions keep to it (tagfilter as well).
  static const bool registered = [] {
    cmark_gfm_core_extensions_ensure_registered();
    return true;
  }();
  (void)registered;
  const int options = CMARK_OPT_DEFAULT;
  std::unique_ptr<cmark_parser, decltype(&cmark_parser_free)> parser(cmark_parser_new(options),
                                                                     &cmark_parser_free);
  if (!parser) return std::string();
  for (const char* name : {"table", "strikethrough", "autolink", "tasklist", "tagfilter"}) {
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser.get(), ext);
    }
  }
  cmark_parser_feed(parser.get(), md.data(), md.size());
  std::unique_ptr<cmark_node, decltype(&cmark_node_free)> root(cmark_parser_finish(parser.get()),
                                                               &cmark_node_free);
  if (!root) return std::string();
  std::unique_ptr<char, decltype(&std::free)> html(
      cmark_render_html(root.get(), options, cmark_parser_get_syntax_extensions(parser.get())),
      &std::free);
  return html ? std::string(html.get()) : std::string();
}

// A section's named fields with text, as the exports show them: a course's and a unit's in the
// course panels' order under their labels, then any other field by name; never the prompt.
std::vector<std::pair<std::string, std::string>> export_fields(const protocol::Section& s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string_view> shown{kPromptField};
  auto add = [&](std::string_view name, std::string_view label) {
    shown.insert(name);
    auto it = s.fields.find(std::string(name));
    if (it == s.fields.end() || it->second.empty()) return;
    out.emplace_back(std::string(label), it->second.to_string());
  };
  if (s.kind == kCourseKind) {
    for (std::size_t i = 0; i < kCourseFields.size(); ++i)
      add(kCourseFields[i], kCourseFieldLabels[i]);
  } else if (s.kind == kUnitKind) {
    for (std::size_t i = 0; i < kUnitFields.size(); ++i) add(kUnitFields[i], kUnitFieldLabels[i]);
  }
  for (const auto& [name, text] : s.fields) {
    if (shown.count(name) == 0 && !text.empty()) out.emplace_back(name, text.to_string());
  }
  return out;
}

// The export's only style: a readable page on screen and on paper. Its hash is in the policy.
constexpr std::string_view kExportStyle =
    "body{max-width:46em;margin:2em auto;padding:0 1em;font:16px/1.5 system-ui,sans-serif;"
    "color:#1a1a1a}h1,h2,h3{line-height:1.25}h3{font-size:1em}"
    "pre,code{background:#f3f3f3}pre{padding:.5em;overflow:auto}"
    "blockquote{margin-left:0;padding-left:1em;border-left:3px solid #ccc}";

std::string make_export_policy() {
  if (sodium_init() < 0) std::abort();  // as server/auth.cpp: nothing here can work without it
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(kExportStyle.data()),
                     kExportStyle.size());
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, hash, sizeof hash, sodium_base64_VARIANT_ORIGINAL);
  return "default-src 'none'; style-src 'sha256-" + std::string(b64) +
         "'; base-uri 'none'; form-action 'none'";
}

}  // namespace

std::string_view export_html_policy() {
  static const std::string policy = make_export_policy();
  return policy;
}

std::string export_markdown(const protocol::Document& doc, std::string_view title) {
  std::string out = "# " + one_line(std::string(title)) + "\n";
  for (const auto* s : doc.ordered()) {
    out += "\n## " + one_line(s->title.to_string()) + "\n";
    auto paragraph = [&out](const std::string& text) {
      if (text.empty()) return;
      out += "\n" + text;
      if (text.back() != '\n') out += "\n";
    };
    paragraph(s->body.to_string());
    for (const auto& [label, text] : export_fields(*s)) {
      out += "\n### " + label + "\n";
      paragraph(text);
    }
  }
  return out;
}

std::string export_html(const protocol::Document& doc, std::string_view title) {
  const std::string t = escape_html(title);
  std::string out = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n";
  // The policy holds no '"', '&' or '<' (quoted keywords and base64), so it stands as it is.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
         std::string(export_html_policy()) + "\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + t + "</title>\n<style>" + std::string(kExportStyle) +
         "</style>\n</head>\n<body>\n<h1>" + t + "</h1>\n";
  for (const auto* s : doc.ordered()) {
    out += "<section id=\"" + escape_html(s->id) + "\">\n<h2>" + escape_html(s->title.to_string()) +
           "</h2>\n";
    out += markdown_to_html(s->body.to_string());
    for (const auto& [label, text] : export_fields(*s)) {
      out += "<h3>" + escape_html(label) + "</h3>\n" + markdown_to_html(text);
    }
    out += "</section>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

nlohmann::json export_json(const protocol::Document& doc, const storage::DocumentMeta& meta,
                           std::uint64_t rev, const std::optional<storage::NamedVersion>& version) {
  nlohmann::json sections = nlohmann::json::array();
  for (const auto* s : doc.ordered()) {
    nlohmann::json section = {
        {"id", s->id}, {"title", s->title.to_string()}, {"body", s->body.to_string()}};
    for (const auto& [name, text] : s->fields) section["fields"][name] = text.to_string();
    sections.push_back(std::move(section));
  }
  nlohmann::json j = {{"document", {{"id", meta.id}, {"title", meta.title}}},
                      {"rev", rev},
                      {"sections", std::move(sections)},
                      {"snapshot", protocol::to_json(doc)}};
  if (version) {
    j["version"] = {{"rev", version->rev},
                    {"name", version->name},
                    {"by", version->who},
                    {"time", version->time_ms}};
  }
  return j;
}

}  // namespace jointly::server
