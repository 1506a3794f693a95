// The metrics registry renders the Prometheus text format.
#include "server/metrics.hpp"

#include <gtest/gtest.h>

namespace jointly::server {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Metrics, RendersEveryMetricWithHelpAndType) {
  Metrics m;
  m.connections.add(3);
  m.connections.sub(1);
  m.documents_open.add(2);
  m.ops_applied.inc(5);
  m.outbound_queue_bytes.add(1024);
  const std::string t = m.render();
  EXPECT_TRUE(has_line(t, "# TYPE jointly_connections gauge"));
  EXPECT_TRUE(has_line(t, "jointly_connections 2"));
  EXPECT_TRUE(has_line(t, "jointly_documents_open 2"));
  EXPECT_TRUE(has_line(t, "# TYPE jointly_ops_applied_total counter"));
  EXPECT_TRUE(has_line(t, "jointly_ops_applied_total 5"));
  EXPECT_TRUE(has_line(t, "jointly_outbound_queue_bytes 1024"));
  EXPECT_TRUE(has_line(t, "# TYPE jointly_op_latency_seconds histogram"));
  EXPECT_TRUE(has_line(t, "# TYPE jointly_fsync_latency_seconds histogram"));
  EXPECT_TRUE(has_line(t, "# TYPE jointly_rejected_messages_total counter"));
  EXPECT_EQ(t.back(), '\n');
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics m;
  m.op_latency.observe_ns(30'000);          // 30 µs
  m.op_latency.observe_ns(2'000'000);       // 2 ms
  m.op_latency.observe_ns(20'000'000'000);  // 20 s: only +Inf
  const std::string t = m.render();
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_bucket{le=\"5e-05\"} 1"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_bucket{le=\"0.001\"} 1"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_bucket{le=\"0.0025\"} 2"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_bucket{le=\"10\"} 2"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_bucket{le=\"+Inf\"} 3"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_count 3"));
  EXPECT_TRUE(has_line(t, "jointly_op_latency_seconds_sum 20.00203"));
}

TEST(Metrics, LabelledCountersAreSortedAndEscaped) {
  Metrics m;
  m.rejected.inc("rev_in_future");
  m.rejected.inc("invalid_json");
  m.rejected.inc("invalid_json");
  m.closed.inc("a\"b\\c\nd");
  const std::string t = m.render();
  const auto a = t.find("jointly_rejected_messages_total{code=\"invalid_json\"} 2");
  const auto b = t.find("jointly_rejected_messages_total{code=\"rev_in_future\"} 1");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_TRUE(has_line(t, "jointly_closed_connections_total{code=\"a\\\"b\\\\c\\nd\"} 1"));
  EXPECT_EQ(m.rejected.value("invalid_json"), 2u);
  EXPECT_EQ(m.rejected.value("other"), 0u);
}

}  // namespace
}  // namespace jointly::server
