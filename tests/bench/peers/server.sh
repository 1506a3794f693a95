#!/bin/sh
# The server command for bench-peers' run.mjs (see README.md here):
#   --server-cmd "tests/bench/peers/server.sh {port} {data} [jointly-server flags...]"
# Bootstraps the bench account into the fresh data directory when JOINTLY_BENCH_LOGIN
# (email:password) is set, then execs jointly-server, so that run.mjs measures the server's own
# PID (taskset execs this script, which execs the server: one process throughout).
#
# Bench settings, given as jointly-server's environment variables so that a flag on the command
# line (or the variable already set) wins:
#   --messages-per-second/--message-burst 10^6: the per-connection rate limit (100/s by default)
#     would refuse W1's back-to-back edits; the peers have no such limit.
#   --unload-after 1: an idle document leaves memory after 1 s, so W4 --unload 1 (3 s wait)
#     joins a document loaded from storage, as the peers with storage do.
#   --threads 1: run.mjs pins the server to one CPU.
#   --log-level warn: no per-connection info lines.
# Durability stays the default (sync); pass --durability none for the in-memory comparison.
# JOINTLY_BIN: the folder with jointly-server and jointly-admin (default: build/bin).
set -eu
if [ $# -lt 2 ]; then
  echo "usage: server.sh PORT DATA_DIR [jointly-server flags...]" >&2
  exit 2
fi
port=$1
data=$2
shift 2
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${JOINTLY_BIN:-$root/build/bin}
if [ -n "${JOINTLY_BENCH_LOGIN:-}" ]; then
  email=${JOINTLY_BENCH_LOGIN%%:*}
  password=${JOINTLY_BENCH_LOGIN#*:}
  printf '%s\n' "$password" | "$bin/jointly-admin" create-user --data "$data" --email "$email" \
    --name "Bench User" --institution "Bench University" --country AT --admin >/dev/null
fi
export JOINTLY_MESSAGES_PER_SECOND="${JOINTLY_MESSAGES_PER_SECOND:-1000000}"
export JOINTLY_MESSAGE_BURST="${JOINTLY_MESSAGE_BURST:-1000000}"
export JOINTLY_UNLOAD_AFTER="${JOINTLY_UNLOAD_AFTER:-1}"
export JOINTLY_THREADS="${JOINTLY_THREADS:-1}"
export JOINTLY_LOG_LEVEL="${JOINTLY_LOG_LEVEL:-warn}"
exec "$bin/jointly-server" --listen "127.0.0.1:$port" --data "$data" "$@"
