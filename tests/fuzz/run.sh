#!/usr/bin/env bash
# tests/fuzz/run.sh [--seconds N] [--jobs J] [TARGET...]: builds the libFuzzer targets with clang
# under ASan + UBSan into build-fuzz/ and runs each (all five when none is named) for N seconds
# (default 60, or $JOINTLY_FUZZ_SECONDS for a long run), J at a time (default 2), from a copy of
# the committed seed corpus (tests/fuzz/corpus/<target>/; what the run adds stays in
# build-fuzz/corpus/). A crash, a broken law (abort), a leak, a timeout (10 s for one input) or
# running out of memory is saved as build-fuzz/artifacts/<target>/<kind>-<hash>; reproduce it
# with build-fuzz/bin/<target> <file>. Closes with one line:
#   fuzz: <targets> targets, <total execs> execs, <crashes> crashes
# Exit status 0 only when nothing crashed. Needs clang and libclang-rt-14-dev
# (deploy/setup.sh install_fuzz_packages).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${JOINTLY_FUZZ_SECONDS:-60}
jobs=2
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] ||
  targets=(text_op_fuzz doc_op_fuzz ws_message_fuzz static_path_fuzz cookie_fuzz)
build=$root/build-fuzz

echo "==> building ${targets[*]} (clang, ASan + UBSan, libFuzzer) into build-fuzz/"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJOINTLY_FUZZ=ON \
  -DJOINTLY_BENCHMARKS=OFF >/dev/null || { echo "fuzz: configuring failed" >&2; exit 2; }
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" ||
  { echo "fuzz: the build failed" >&2; exit 2; }

# The dictionary of each target (libFuzzer takes one: ws_message's is the op one plus its own).
dict_for() {
  case $1 in
    text_op_fuzz|doc_op_fuzz) echo "$here/dict/json_ops.dict" ;;
    ws_message_fuzz)
      cat "$here/dict/json_ops.dict" "$here/dict/ws_message.dict" >"$build/ws_message.dict"
      echo "$build/ws_message.dict" ;;
    static_path_fuzz) echo "$here/dict/static_path.dict" ;;
    cookie_fuzz) echo "$here/dict/cookie.dict" ;;
  esac
}

# Extra libFuzzer flags of a target. ws_message_fuzz: RocksDB's memtable and caches keep growing
# from input to input, so libFuzzer's per-input leak check would scan the heap after every input
# (ten times slower) and prove nothing; leaks in the code it drives are the other targets' and
# the ASan unit tests' to find.
flags_for() {
  case $1 in
    ws_message_fuzz) echo "-detect_leaks=0" ;;
  esac
}

# run_target NAME: fuzzes NAME for $seconds into $build/logs/NAME.log.
run_target() {
  local t=$1 seeds=$here/corpus/${1%_fuzz}
  local corpus=$build/corpus/$t artifacts=$build/artifacts/$t/
  local tmp=$build/tmp/$t
  mkdir -p "$corpus" "$artifacts" "$tmp"
  cp -n "$seeds"/* "$corpus"/ 2>/dev/null
  TMPDIR=$tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -dict="$(dict_for "$t")" -artifact_prefix="$artifacts" $(flags_for "$t") \
    "$corpus" \
    >"$build/logs/$t.log" 2>&1
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

mkdir -p "$build/logs"
rm -rf "$build/artifacts"
echo "==> fuzzing ${#targets[@]} targets for ${seconds} s each, ${jobs} at a time"
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

total_execs=0
crashes=0
for t in "${targets[@]}"; do
  log=$build/logs/$t.log
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)
  found=$(find "$build/artifacts/$t" -type f | wc -l)
  # A run that ended without its final stats died in a way that left no artifact: count it.
  [ -n "$execs" ] || { [ "$found" -gt 0 ] || found=1; execs=0; }
  corpus=$(find "$build/corpus/$t" -type f | wc -l)
  printf '  %-18s %10s execs  %4s in corpus  %s crashes\n' "$t" "$execs" "$corpus" "$found"
  if [ "$found" -gt 0 ]; then
    grep -E 'ERROR|invariant broken|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
    find "$build/artifacts/$t" -type f | sed 's/^/    saved: /'
  fi
  total_execs=$((total_execs + execs))
  crashes=$((crashes + found))
done
echo "fuzz: ${#targets[@]} targets, ${total_execs} execs, ${crashes} crashes"
[ "$crashes" = 0 ]
