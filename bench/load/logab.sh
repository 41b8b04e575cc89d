#!/usr/bin/env bash
# Interleaved A/B of SQLite's delivery log (issue 16): the same server build with every body in the log
# (Webhooks:Log=true, Webhooks:LogBodiesFrom=0: bodies durable in the log, rows committed without a sync) and with the
# log off (Webhooks:Log=false: bodies Brotli-compressed into SQLite below 64 KiB, every commit synced), each in a fresh data folder, alternately, next to a minimal Octokit.Webhooks.AspNetCore receiver that stores
# nothing (run once per round, for the ratio the issue asks about). wrk on loopback, 2 threads, 32 connections, a fresh
# delivery id per request; a warm-up, then the measured run. For each Hubgate run: requests/s, p50/p99, and the
# server's CPU (user + system, from /proc) per delivery stored in the measured run.
# Usage: bench/load/logab.sh [seconds per run, default 15] [rounds, default 3] [body: push (8.8 KB, default) | 1mb]
#        [worker: false (ingest only, default) | true]
# Needs wrk (apt-get install wrk), sqlite3, curl, openssl.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-15}"
ROUNDS="${2:-3}"
BODY_KIND="${3:-push}"
WORKER="${4:-false}"
SECRET="load-test-secret"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk sqlite3 curl openssl; do command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.LoadBaseline -v q -nologo >/dev/null

PUSH=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
if [[ "$BODY_KIND" == "1mb" ]]; then
  # The push fixture with its commit list repeated up to 1 MiB: valid JSON, the shape of a large push.
  python3 - "$PUSH" "$WORK/body.json" <<'PY'
import json, sys
push = json.load(open(sys.argv[1]))
commit = push["commits"][0] if push["commits"] else {"id": "0" * 40, "message": "x"}
push["commits"] = []
while len(json.dumps(push)) < 1024 * 1024:
    push["commits"].append(dict(commit, message="m" * 4000))
open(sys.argv[2], "w").write(json.dumps(push))
PY
else
  cp "$PUSH" "$WORK/body.json"
fi
printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/body.json" | cut -d' ' -f1)" > "$WORK/signature.txt"
echo "body: $(stat -c %s "$WORK/body.json") bytes; worker: $WORKER; ${DURATION}s per run; $ROUNDS rounds"

wait_up() { # port
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done
  echo "server on port $1 did not start" >&2; exit 1
}

load() { # port run-id
  wrk -t2 -c32 -d"${DURATION}s" --latency -s bench/load/ingest.lua "http://127.0.0.1:$1" -- \
    "$WORK/body.json" "$WORK/signature.txt" "$2" | grep RESULT
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

rows() { sqlite3 "$1" 'select count(*) from webhook_deliveries' 2>/dev/null || echo 0; }

hubgate_run() { # label log(true|false) round
  local dir="$WORK/$1-$3" port=5291
  mkdir -p "$dir"
  GitHub__WebhookSecret="$SECRET" ConnectionStrings__Hubgate="Data Source=$dir/hubgate.db" Webhooks__RunWorker="$WORKER" \
    Webhooks__Log="$2" Webhooks__LogBodiesFrom=0 Logging__LogLevel__Default=Warning \
    dotnet src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll --urls "http://127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  wait_up $port
  load $port "warm-$1-$3" >/dev/null
  local before_rows before_cpu after_rows after_cpu result
  before_rows=$(rows "$dir/hubgate.db"); before_cpu=$(cpu_ticks $pid)
  result=$(load $port "run-$1-$3")
  after_cpu=$(cpu_ticks $pid); after_rows=$(rows "$dir/hubgate.db")
  local stored=$((after_rows - before_rows)) hz
  hz=$(getconf CLK_TCK)
  local us_per=$(( stored > 0 ? (after_cpu - before_cpu) * 1000000 / hz / stored : 0 ))
  local disk
  disk=$(du -sb "$dir" | cut -f1)
  echo "$1 round=$3 ${result#RESULT } stored=$stored cpu_us_per_delivery=$us_per disk_bytes_per_delivery=$(( after_rows > 0 ? disk / after_rows : 0 )) load=$(cut -d' ' -f1 /proc/loadavg)"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
  GitHub__WebhookSecret="$SECRET" dotnet bench/Hubgate.LoadBaseline/bin/Release/net10.0/Hubgate.LoadBaseline.dll \
    --urls "http://127.0.0.1:5290" >"$WORK/baseline.log" 2>&1 &
  BASE_PID=$!; PIDS+=($BASE_PID)
  wait_up 5290
  load 5290 "warm-octokit-$round" >/dev/null
  echo "octokit round=$round $(load 5290 "run-octokit-$round" | sed 's/^RESULT //') load=$(cut -d' ' -f1 /proc/loadavg)"
  kill "$BASE_PID"; wait "$BASE_PID" 2>/dev/null || true
  # Alternate which goes first, so neither always runs on the warmer machine.
  if (( round % 2 == 1 )); then
    hubgate_run log true "$round"; hubgate_run nolog false "$round"
  else
    hubgate_run nolog false "$round"; hubgate_run log true "$round"
  fi
done
