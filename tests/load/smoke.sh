#!/bin/sh
# jointly-load smoke test (ctest load_smoke, label server): starts jointly-server on a free port
# with a fresh data directory, runs jointly-load w1 (2 clients x 200 edits) and a small w4 (held
# in memory, then unloaded and loaded from storage); each run must converge (exit code 0).
# When jointly-admin knows create-user (accounts), it bootstraps an account and the runs log in.
# usage: smoke.sh JOINTLY_SERVER JOINTLY_LOAD JOINTLY_ADMIN
set -eu
server=$1
load=$2
admin=$3
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

login=
if "$admin" --help 2>&1 | grep -q create-user; then
  login="smoke@example.org:smoke-password-1"
  printf '%s\n' "smoke-password-1" | "$admin" create-user --data "$tmp/data" \
    --email smoke@example.org --name Smoke --institution "Smoke University" --country AT --admin
fi

"$server" --listen 127.0.0.1:0 --data "$tmp/data" --static "$tmp" --threads 2 \
  --messages-per-second 1000000 --message-burst 1000000 --unload-after 0.3 2>"$tmp/server.log" &
pid=$!
port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
  [ -n "$port" ] || { sleep 0.1; i=$((i + 1)); }
done
if [ -z "$port" ]; then
  echo "jointly-server did not start:" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
url="http://127.0.0.1:$port"
set -- --url "$url" --server-pid "$pid" --threads 2 --deadline 60
[ -z "$login" ] || set -- "$@" --login "$login"

"$load" "$@" --workload w1 --clients 2 --edits 200
"$load" "$@" --workload w4 --edits 400 --builders 2 --joins 2
"$load" "$@" --workload w4 --edits 400 --builders 2 --joins 2 --unload --unloadwait 800
echo "load smoke: all runs converged"
