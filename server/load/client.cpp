#include "server/load/client.hpp"

#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

namespace jointly::load {

using nlohmann::json;
using protocol::DocOp;
using protocol::make_error;

namespace {

DocOp edit_op(protocol::TextOp op) {
  DocOp d;
  d.components.push_back(
      protocol::SectionEdit{std::string(kSection), protocol::Field::body, std::move(op)});
  return d;
}

const protocol::Section& edited_section(const protocol::Document& doc) {
  static const protocol::Section empty;
  const auto* s = doc.find(kSection);
  return s ? *s : empty;
}

}  // namespace

LoadClient::LoadClient(std::string client_id, Hooks hooks)
    : id_(std::move(client_id)), hooks_(std::move(hooks)) {}

LoadClient::~LoadClient() { close(); }

protocol::Status LoadClient::open(IoPool& pool, unsigned shard, const Endpoint& endpoint,
                                  const std::string& cookie, std::uint64_t doc,
                                  std::chrono::milliseconds timeout) {
  doc_ = doc;
  // The document in the URL: a cluster's proxy routes the socket by it (deploy/README.md).
  auto ws = WsConnection::connect(
      pool, shard, endpoint, "/ws?doc=" + std::to_string(doc), cookie,
      [this](std::string_view text) { on_message(text); },
      [this](const std::string& why) { fail("connection lost: " + why); });
  if (!ws.ok()) return ws.error();
  ws_ = std::move(*ws);
  // name and institution: required by servers before accounts, ignored by later ones.
  json hello = {{"type", "hello"},
                {"client", id_},
                {"name", "jointly-load"},
                {"institution", "jointly-load"},
                {"batch", true}};
  json open = {{"type", "open"}, {"doc", doc}};
  ws_->post([this, h = hello.dump(), o = open.dump()] {
    ws_->send(h);
    ws_->send(o);
  });
  const auto deadline = Clock::now() + timeout;
  while (!opened_.load(std::memory_order_acquire) && !failed()) {
    if (Clock::now() > deadline) {
      return make_error("timeout", "no snapshot of document " + std::to_string(doc) + " within " +
                                       std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (failed()) {
    std::lock_guard lock(failure_mu_);
    return make_error("open_failed", failure_);
  }
  return {};
}

void LoadClient::close() {
  if (!ws_) return;
  ws_->close();
  ws_.reset();
}

void LoadClient::post(std::function<void()> f) { ws_->post(std::move(f)); }

std::size_t LoadClient::length() const { return edited_section(state_.document()).body.size(); }

std::string LoadClient::text() const { return edited_section(state_.document()).body.to_string(); }

void LoadClient::insert(std::size_t pos, std::string_view utf8) {
  protocol::TextOp op;
  op.skip(pos).insert(utf8);
  auto r = state_.local(edit_op(std::move(op)));
  if (!r.ok()) return fail(r.error().code + ": " + r.error().message);
  if (*r) submit(**r);
  publish();
}

void LoadClient::erase(std::size_t pos) {
  protocol::TextOp op;
  op.skip(pos).del(1);
  auto r = state_.local(edit_op(std::move(op)));
  if (!r.ok()) return fail(r.error().code + ": " + r.error().message);
  if (*r) submit(**r);
  publish();
}

void LoadClient::submit(const Submission& s) {
  json m = {{"type", "submit"}, {"doc", doc_},  {"rev", s.rev},
            {"client", id_},    {"seq", s.seq}, {"op", protocol::to_json(s.op)}};
  inflight_sent_ = Clock::now();
  ws_->send(m.dump());
}

void LoadClient::publish() {
  rev_.store(state_.rev(), std::memory_order_release);
  idle_.store(state_.idle(), std::memory_order_release);
}

void LoadClient::fail(std::string why) {
  {
    std::lock_guard lock(failure_mu_);
    if (!failure_.empty()) return;
    failure_ = std::move(why);
  }
  failed_.store(true, std::memory_order_release);
}

std::string LoadClient::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

void LoadClient::on_message(std::string_view text) {
  if (failed()) return;
  const auto arrived = Clock::now();
  json m = json::parse(text, nullptr, /*allow_exceptions=*/false);
  handle(m, arrived);
}

void LoadClient::handle(const json& m, Clock::time_point arrived) {
  if (failed()) return;
  if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
    return fail("server sent a message that is not a JSON object with a type");
  }
  const auto& type = m["type"].get_ref<const std::string&>();
  try {
    if (type == "batch") {
      // Several messages in one frame (the hello asked for them): each as if it came alone.
      for (const auto& inner : m.at("messages")) handle(inner, arrived);
    } else if (type == "op") {
      if (m.at("doc").get<std::uint64_t>() != doc_) return;
      const auto rev = m.at("rev").get<std::uint64_t>();
      if (rev <= state_.rev()) return;  // already known (PROTOCOL.md: ignore)
      auto op = protocol::parse_doc_op(m.at("op"));
      if (!op.ok()) return fail("server op: " + op.error().message);
      auto applied = state_.remote(rev, *op);
      if (!applied.ok()) return fail(applied.error().code + ": " + applied.error().message);
      publish();
      if (hooks_.on_remote) hooks_.on_remote(*applied, arrived);
    } else if (type == "ack") {
      const auto seq = m.at("seq").get<std::uint64_t>();
      const auto rev = m.at("rev").get<std::uint64_t>();
      auto next = state_.ack(rev, seq);
      if (!next.ok()) return fail(next.error().code + ": " + next.error().message);
      ack_us_.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(arrived - inflight_sent_).count()));
      if (*next) submit(**next);
      publish();
      if (hooks_.on_ack) hooks_.on_ack(seq, rev);
    } else if (type == "snapshot") {
      auto doc = protocol::parse_document(m.at("snapshot"));
      if (!doc.ok()) return fail("server snapshot: " + doc.error().message);
      if (!doc->find(kSection)) {
        return fail("the document has no section \"" + std::string(kSection) + "\"");
      }
      state_.reset(m.at("rev").get<std::uint64_t>(), std::move(*doc));
      publish();
      opened_.store(true, std::memory_order_release);
    } else if (type == "error") {
      return fail("server error " + m.value("code", std::string("?")) + ": " +
                  m.value("message", std::string()));
    }
    // welcome, presence, left and types added later: nothing to do.
  } catch (const json::exception& e) {
    fail("server message " + type + " malformed: " + e.what());
  }
}

}  // namespace jointly::load
