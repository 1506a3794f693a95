#!/usr/bin/env bash
# tests/bench/cluster_bench.sh — the scale-out speed figures (issue #10; deploy/README.md,
# "Scale-out"): aggregate edits/s and latency of jointly-load's W3 (many documents, several
# clients each, a fixed rate per client) through HAProxy in front of 1, 2 and 3 nodes, and the
# same load straight to the single node (HAProxy's overhead: same load, same run, alternating).
# Prints a table of medians over --reps repetitions.
#
# Usage: tests/bench/cluster_bench.sh [--reps 3] [--docs 50] [--perdoc 4] [--rates "5 10 20"]
#          [--duration 10] [--nodes "1 2 3"]
# BUILD_DIR (default build) must hold jointly-server, jointly-admin and jointly-load; haproxy
# and node on PATH. Everything runs on this machine: the nodes, HAProxy and the load share its
# cores, so more nodes add no CPU — the figures show what routing costs and that nothing is lost,
# not how a real cluster of machines scales. Ports from BENCH_PORT (default 19300) upwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/${BUILD_DIR:-build}/bin
reps=3 docs=50 perdoc=4 rates="5 10 20" duration=10 node_counts="1 2 3"
while [ $# -gt 0 ]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --docs) docs=$2; shift 2 ;;
    --perdoc) perdoc=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --nodes) node_counts=$2; shift 2 ;;
    *) echo "cluster_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for b in jointly-server jointly-admin jointly-load; do
  [ -x "$bin/$b" ] || { echo "cluster_bench.sh: $bin/$b is missing (cmake --build ... --target $b)" >&2; exit 2; }
done
command -v haproxy >/dev/null || { echo "cluster_bench.sh: haproxy is not installed" >&2; exit 2; }

base_port=${BENCH_PORT:-19300}
proxy_port=$base_port
work=$(mktemp -d /tmp/jointly-cluster-bench.XXXXXX)
results=$work/results.tsv
login="bench@cluster.test:bench password 1234"
pids=()

stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

wait_healthy() { # URL
  local i
  for i in $(seq 1 200); do
    curl -fs -o /dev/null "$1/healthz" && return 0
    sleep 0.05
  done
  echo "cluster_bench.sh: $1 did not become healthy" >&2
  return 1
}

# start_cluster K: K nodes (node1 the accounts primary) and HAProxy on proxy_port.
start_cluster() {
  local k=$1 i port peers dir args
  rm -rf "$work/c" && mkdir -p "$work/c"
  head -c 32 /dev/urandom | base64 > "$work/c/secret"
  printf '%s\n' "${login#*:}" | "$bin/jointly-admin" create-user --data "$work/c/node1" \
    --email "${login%%:*}" --name "Bench User" --institution "Bench University" --country AT \
    --admin >/dev/null
  local render=(node "$root/deploy/haproxy/render.mjs" --primary node1 --plain "127.0.0.1:$proxy_port" --check-inter 1s)
  for i in $(seq 1 "$k"); do
    render+=(--node "node$i=127.0.0.1:$((base_port + i))")
  done
  for i in $(seq 1 "$k"); do
    port=$((base_port + i))
    peers=""
    local j
    for j in $(seq 1 "$k"); do
      [ "$j" = "$i" ] || peers="${peers:+$peers,}http://127.0.0.1:$((base_port + j))"
    done
    args=(--listen "127.0.0.1:$port" --data "$work/c/node$i" --threads 1 --node-id "node$i"
      --cluster-secret-file "$work/c/secret" --trusted-proxy 127.0.0.1 --log-level warn
      --static "$work/c/none" --messages-per-second 1000000 --message-burst 1000000)
    [ "$i" = 1 ] || args+=(--accounts-primary "http://127.0.0.1:$((base_port + 1))")
    [ -z "$peers" ] || args+=(--peers "$peers")
    "$bin/jointly-server" "${args[@]}" 2>>"$work/c/node$i.log" &
    pids+=($!)
    wait_healthy "http://127.0.0.1:$port"
  done
  "${render[@]}" --out "$work/c/haproxy.cfg"
  haproxy -db -f "$work/c/haproxy.cfg" 2>>"$work/c/haproxy.log" &
  pids+=($!)
  wait_healthy "http://127.0.0.1:$proxy_port"
  sleep 1 # the health checks' first round
}

# run_load LABEL URL RATE: one W3 run; appends "label rate edits/s p50 p99 ok" to results.
run_load() {
  local label=$1 url=$2 rate=$3 out
  out=$("$bin/jointly-load" --url "$url" --login "$login" --workload w3 --docs "$docs" \
    --perdoc "$perdoc" --rate "$rate" --duration "$duration" --warmup 2 --threads 1 \
    --server-pid "${pids[0]}" --seed "$RANDOM" 2>&1 | tail -n 1) || true
  node -e '
    const [label, rate, docs, perdoc] = process.argv.slice(1);
    let r;
    try { r = JSON.parse(process.argv[5]); } catch { console.log([label, rate, 0, "NaN", "NaN", "no-result"].join("\t")); process.exit(0); }
    const l = r.latency_ms || {};
    const offered = Number(docs) * Number(perdoc) * Number(rate);
    // Delivered: the offered rate, less what was lost (never seen by the other clients).
    const total = offered * Number(r.params ? r.params.durationS : 0);
    const delivered = total > 0 ? offered * (1 - (r.lost || 0) / total) : 0;
    console.log([label, rate, delivered.toFixed(0), (l.p50 ?? NaN).toFixed(1), (l.p99 ?? NaN).toFixed(1), r.ok ? "ok" : "NOT-OK"].join("\t"));
  ' "$label" "$rate" "$docs" "$perdoc" "$out" >> "$results"
  tail -n 1 "$results" >&2
}

for k in $node_counts; do
  for rep in $(seq 1 "$reps"); do
    start_cluster "$k"
    for rate in $rates; do
      if [ "$k" = 1 ]; then run_load "direct, 1 node" "http://127.0.0.1:$((base_port + 1))" "$rate"; fi
      run_load "HAProxy, $k node$([ "$k" = 1 ] || echo s)" "http://127.0.0.1:$proxy_port" "$rate"
    done
    stop_all
  done
done

echo
echo "W3: $docs documents x $perdoc clients, edits/s per client as below, ${duration} s measured; medians of $reps runs"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
  const med = (xs) => { const s = xs.map(Number).sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
  const groups = new Map();
  for (const [label, rate, eps, p50, p99, ok] of rows) {
    const k = `${label}\t${rate}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push({ eps, p50, p99, ok });
  }
  console.log(["setup".padEnd(18), "offered/s".padStart(9), "edits/s".padStart(8), "p50 ms".padStart(7), "p99 ms".padStart(7), "runs ok".padStart(8)].join("  "));
  for (const [k, g] of groups) {
    const [label, rate] = k.split("\t");
    const offered = Number(process.argv[2]) * Number(process.argv[3]) * Number(rate);
    console.log([label.padEnd(18), String(offered).padStart(9), String(med(g.map((x) => x.eps))).padStart(8),
      med(g.map((x) => x.p50)).toFixed(1).padStart(7), med(g.map((x) => x.p99)).toFixed(1).padStart(7),
      `${g.filter((x) => x.ok === "ok").length}/${g.length}`.padStart(8)].join("  "));
  }
' "$results" "$docs" "$perdoc"
