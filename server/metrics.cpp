// Metrics and their Prometheus text rendering: see server/metrics.hpp.
#include "server/metrics.hpp"

#include <chrono>
#include <cstdio>

namespace jointly::server {
namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A label value escaped as the text format asks: backslash, double quote and newline.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void simple(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::string value) {
  header(out, name, type, help);
  out.append(name).append(" ").append(value).append("\n");
}

}  // namespace

void Histogram::observe_ns(std::uint64_t ns) {
  const double s = static_cast<double>(ns) / 1e9;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (s <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out.append(name).append("_bucket{le=\"").append(number(kBounds[i])).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  const std::uint64_t n = count_.load(std::memory_order_relaxed);
  out.append(name).append("_bucket{le=\"+Inf\"} ").append(std::to_string(n)).append("\n");
  out.append(name).append("_sum ");
  out.append(number(static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9));
  out.append("\n");
  out.append(name).append("_count ").append(std::to_string(n)).append("\n");
}

void LabelledCounter::inc(std::string_view label) {
  std::lock_guard lock(mu_);
  auto it = values_.find(label);
  if (it == values_.end()) it = values_.emplace(std::string(label), 0).first;
  ++it->second;
}

std::uint64_t LabelledCounter::value(std::string_view label) const {
  std::lock_guard lock(mu_);
  const auto it = values_.find(label);
  return it == values_.end() ? 0 : it->second;
}

void LabelledCounter::render(std::string& out, std::string_view name, std::string_view label_name,
                             std::string_view help) const {
  header(out, name, "counter", help);
  std::lock_guard lock(mu_);
  for (const auto& [label, v] : values_) {
    out.append(name).append("{").append(label_name).append("=\"").append(escape_label(label));
    out.append("\"} ").append(std::to_string(v)).append("\n");
  }
}

namespace {

void render_cluster(std::string& out, const ClusterMetrics& c) {
  if (c.replica) {
    simple(out, "jointly_replica_lag_changes", "gauge",
           "Accounts changes the primary had at the last pull that this replica lacked after it.",
           std::to_string(c.replica_lag_changes.value()));
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto since = c.replica_caught_up_ms.value();
    const double lag = since == 0 ? -1.0 : static_cast<double>(now - since) / 1000.0;
    simple(out, "jointly_replica_lag_seconds", "gauge",
           "Seconds since this replica last held every accounts change (-1: never).",
           std::to_string(lag));
  }
  struct Row {
    bool replica_only;
    const char* name;
    const char* help;
    const Counter& value;
  };
  const Row rows[] = {
      {true, "jointly_replica_pulls_total",
       "Pulls of the accounts change feed from the primary that succeeded.", c.replica_pulls},
      {true, "jointly_replica_pull_failures_total",
       "Pulls of the accounts change feed from the primary that failed.", c.replica_pull_failures},
      {false, "jointly_documents_handed_off_total", "Documents this node handed to a peer.",
       c.handed_off},
      {false, "jointly_documents_imported_total", "Documents this node imported from a peer.",
       c.imported},
      {false, "jointly_documents_built_total",
       "Registered documents this node built from their template at their first use.", c.built},
      {false, "jointly_document_acquisitions_failed_total",
       "Documents this node could not have from the cluster when asked (a peer did not answer).",
       c.acquisitions_failed},
  };
  for (const auto& r : rows) {
    if (!r.replica_only || c.replica) {
      simple(out, r.name, "counter", r.help, std::to_string(r.value.value()));
    }
  }
}

}  // namespace

std::string Metrics::render(const StorageWrites* storage) const {
  std::string out;
  simple(out, "jointly_connections", "gauge", "Open WebSocket connections.",
         std::to_string(connections.value()));
  simple(out, "jointly_http_connections", "gauge", "Open TCP connections speaking HTTP.",
         std::to_string(http_connections.value()));
  simple(out, "jointly_documents_open", "gauge", "Documents loaded in memory.",
         std::to_string(documents_open.value()));
  simple(out, "jointly_ops_applied_total", "counter", "Revisions applied and made durable.",
         std::to_string(ops_applied.value()));
  op_latency.render(out, "jointly_op_latency_seconds",
                    "From a submit reaching its document to its ack being queued.");
  fsync_latency.render(out, "jointly_fsync_latency_seconds",
                       "From a revision queued to storage to it being durable.");
  simple(out, "jointly_outbound_queue_bytes", "gauge",
         "Bytes queued for sending, all connections together.",
         std::to_string(outbound_queue_bytes.value()));
  rejected.render(out, "jointly_rejected_messages_total", "code",
                  "Client messages answered with an error, by error code.");
  closed.render(out, "jointly_closed_connections_total", "code",
                "WebSocket connections closed by the server, by close code.");
  if (storage != nullptr) {
    simple(out, "jointly_storage_write_groups_total", "counter",
           "Storage write groups: one batch, and one sync when durable, each.",
           std::to_string(storage->groups));
    simple(out, "jointly_storage_writes_total", "counter",
           "Writes (revisions, document creations) carried by storage's write groups.",
           std::to_string(storage->writes));
  }
  if (cluster.clustered) render_cluster(out, cluster);
  return out;
}

}  // namespace jointly::server
