#!/usr/bin/env bash
# Processing with a backlog: fill a SQLite inbox over HTTP for N seconds with the worker off (the ingest load of
# ingest.sh: 32 connections, the 8.8 KB push/with-new-branch payload, a fresh delivery id per request), then start
# the server again with the worker on and no load, and time how long it takes to process the whole backlog.
# The pushes name an installation the server has never seen and no App credentials are configured, so each is
# looked up, kept and marked ignored: this measures the worker's own cost per delivery (claim, read, dispatch,
# record), not a handler's. Needs wrk (apt-get install wrk), curl and sqlite3.
# Usage: bench/load/drain.sh [seconds of fill, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
FILL="${1:-10}"
SECRET="load-test-secret"
PORT=5196
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed: apt-get install $tool" >&2; exit 1; }
done
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null

BODY=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$BODY" "$WORK/body.json"
printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)" > "$WORK/signature.txt"

start() { # worker on?
  GitHub__WebhookSecret="$SECRET" ConnectionStrings__Hubgate="Data Source=$WORK/hubgate.db" Webhooks__RunWorker="$1" \
    Logging__LogLevel__Default=Warning \
    dotnet src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll --urls "http://127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# What the built-in subscription still owes: not yet fanned out, or its row not settled.
waiting() { sqlite3 "$WORK/hubgate.db" "select (select count(*) from webhook_deliveries where not FannedOut) + (select count(*) from subscription_deliveries where Subscription = 'local' and State in ('Pending', 'Processing', 'Failed'))"; }

start false
wrk -t2 -c32 -d"${FILL}s" -s bench/load/ingest.lua "http://127.0.0.1:$PORT" -- \
  "$WORK/body.json" "$WORK/signature.txt" "fill-$RANDOM" | grep RESULT | sed 's/^RESULT/fill/'
stop
BACKLOG=$(waiting)

start true
STARTED=$(date +%s.%N)
for _ in $(seq 1 1200); do # at most 10 minutes
  [ "$(waiting)" = "0" ] && break
  sleep 0.5
done
ELAPSED=$(echo "$(date +%s.%N) - $STARTED" | bc)
CPU_TICKS=$(awk '{print $14 + $15}' "/proc/$PID/stat")
LEFT=$(waiting)
stop

echo "backlog=$BACKLOG left=$LEFT seconds=$ELAPSED deliveries_per_s=$(echo "($BACKLOG - $LEFT) / $ELAPSED" | bc)" \
  "server_cpu_ms_per_delivery=$(echo "scale=2; $CPU_TICKS * 10 / ($BACKLOG - $LEFT)" | bc)"
echo "states: $(sqlite3 "$WORK/hubgate.db" "select State, count(*) from subscription_deliveries where Subscription = 'local' group by State" | tr '\n' ' ')"
