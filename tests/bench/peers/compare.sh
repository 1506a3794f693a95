#!/bin/bash
# Reruns the side-by-side comparison of issue #4 and prints the table (see README.md here):
# ShareDB, Hocuspocus and y-websocket through bench-peers' run.mjs; Jointly through the same
# harness (adapter jointly.mjs, server server.sh) and through build/bin/jointly-load against the
# same server build; then compare-report.mjs prints peer figures, Jointly figures, the ratio to
# the best peer per cell and whether the target is met.
#
#   tests/bench/peers/compare.sh [--reps N] [--full] [--only peers|jointly|report] [--tag TAG]
#
#   --reps N   repetitions per cell (default 3; the table shows medians)
#   --full     also W1 with 1 and 32 clients (not part of any target)
#   --only     run only the peers, only Jointly, or only print the table of an earlier --tag
# Environment: BENCH_PEERS_DIR (the harness copy, default /tmp/bench-peers: made with cp + npm ci
# when missing), BUILD_DIR (default build: its bin/ has jointly-server, jointly-admin and
# jointly-load), JOINTLY_BENCH_LOGIN (email:password of the bench account; default
# bench@example.org:bench-password-1 when jointly-admin knows create-user).
# The server runs on CPU 0 and the load on CPU 1 (taskset), as run.mjs does; the machine should
# be otherwise idle (see the "other CPU" column).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
here="$root/tests/bench/peers"
harness=${BENCH_PEERS_DIR:-/tmp/bench-peers}
build=${BUILD_DIR:-$root/build}
case $build in /*) ;; *) build="$root/$build" ;; esac
reps=3
full=0
only=all
tag=compare-$(date +%Y%m%d-%H%M)
while [ $# -gt 0 ]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --full) full=1; shift ;;
    --only) only=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
out="$harness/results/$tag"

for b in jointly-server jointly-admin jointly-load; do
  [ -x "$build/bin/$b" ] || { echo "compare.sh: $build/bin/$b is missing (cmake --build $build --target $b)" >&2; exit 2; }
done
if [ ! -d "$harness/node_modules" ]; then
  rm -rf "$harness"
  cp -r "$root/../shared/bench-peers" "$harness"
  chmod -R u+w "$harness"
  (cd "$harness" && npm ci --no-audit --no-fund)
fi
if [ -z "${JOINTLY_BENCH_LOGIN:-}" ] && "$build/bin/jointly-admin" --help 2>&1 | grep -q create-user; then
  JOINTLY_BENCH_LOGIN=bench@example.org:bench-password-1
fi
export JOINTLY_BENCH_LOGIN="${JOINTLY_BENCH_LOGIN:-}"
export JOINTLY_BIN="$build/bin"
mkdir -p "$out"
echo "compare.sh: tag $tag, $reps rep(s), results in $out"

peer() { # peer persist workload [flags...]
  p=$1 s=$2 w=$3
  shift 3
  (cd "$harness" && node run.mjs --peer "$p" --persist "$s" --workload "$w" --reps "$reps" \
    --tag "$tag" --out "results/$tag" "$@") || echo "compare.sh: $p/$s $w failed" >&2
}
jointly_harness() { # durability workload [flags...]
  d=$1 w=$2
  shift 2
  (cd "$harness" && node run.mjs --peer jointly --persist "$d" --adapter "$here/jointly.mjs" \
    --server-cmd "$here/server.sh {port} {data} --durability $d" --ready tcp --workload "$w" \
    --reps "$reps" --tag "$tag" --out "results/$tag" "$@") || echo "compare.sh: jointly $w failed" >&2
}
# One jointly-load run against a fresh server (fresh data, so VmHWM is this run's peak).
jointly_load() { # durability workload [flags...]
  d=$1 w=$2
  shift 2
  port=9302
  i=1
  while [ "$i" -le "$reps" ]; do
    data=$(mktemp -d "$harness/data/jointly-load-XXXXXX")
    taskset -c 0 "$here/server.sh" "$port" "$data" --durability "$d" 2>"$data.log" &
    spid=$!
    n=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
    file="$out/jointly-load-$d-$w-$(echo "$*" | tr -d ' -')-r$i.json"
    set +e
    taskset -c 1 "$build/bin/jointly-load" --url "http://127.0.0.1:$port" --server-pid "$spid" \
      --threads 1 --workload "$w" ${JOINTLY_BENCH_LOGIN:+--login "$JOINTLY_BENCH_LOGIN"} "$@" >"$file.txt"
    set -e
    tail -n 1 "$file.txt" | node -e "
      let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{let r;try{r=JSON.parse(s)}catch{r={ok:false,error:{code:'no_result',message:s.slice(0,300)}}}
      Object.assign(r,{tool:'jointly-load',peer:'jointly-load',persist:'$d',rep:$i,tag:'$tag'});
      require('fs').writeFileSync('$file',JSON.stringify(r));})"
    sed -n '1,9p' "$file.txt" | grep -v '^{' || true
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    rm -rf "$data" "$data.log"
    i=$((i + 1))
  done
}

mkdir -p "$harness/data"
if [ "$only" = all ] || [ "$only" = peers ]; then
  for p in sharedb hocuspocus ywebsocket; do
    peer "$p" memory w1 --clients 8 --edits 4000
    peer "$p" memory w2
    peer "$p" memory w3
    peer "$p" memory w4
    if [ "$full" = 1 ]; then
      peer "$p" memory w1 --clients 1 --edits 20000
      peer "$p" memory w1 --clients 32 --edits 400
    fi
  done
  for ps in hocuspocus/sqlite ywebsocket/leveldb; do
    peer "${ps%/*}" "${ps#*/}" w1 --clients 8 --edits 4000
    peer "${ps%/*}" "${ps#*/}" w2
    peer "${ps%/*}" "${ps#*/}" w3
    peer "${ps%/*}" "${ps#*/}" w4 --unload 1
  done
fi
if [ "$only" = all ] || [ "$only" = jointly ]; then
  jointly_load sync w1 --clients 8 --edits 4000
  jointly_load none w1 --clients 8 --edits 4000
  jointly_load sync w2
  jointly_load sync w3
  jointly_load sync w4
  jointly_load sync w4 --unload
  jointly_harness sync w1 --clients 8 --edits 4000
  jointly_harness none w1 --clients 8 --edits 4000
  jointly_harness sync w2
  jointly_harness sync w3
  jointly_harness sync w4
  jointly_harness sync w4 --unload 1
  if [ "$full" = 1 ]; then
    for ce in 1:20000 32:400; do
      jointly_load sync w1 --clients "${ce%:*}" --edits "${ce#*:}"
      jointly_harness sync w1 --clients "${ce%:*}" --edits "${ce#*:}"
    done
  fi
fi
node "$here/compare-report.mjs" "$out"
