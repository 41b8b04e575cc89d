#!/usr/bin/env bash
# Issue 16: how long a start takes that indexes N deliveries again from SQLite's delivery log (what a crash leaves when
# the database lost its last commits; here the whole log, as when an index is rebuilt from nothing). A fresh data folder:
# the server is started once (migrations; the log's folder), stopped, the log filled with N 8.8 KB pushes as the inbox
# encodes them (bench/Hubgate.LogBench --deliveries), then the server started again: the time until it reports the
# records indexed again (event 308), and the rows it holds then.
# Usage: bench/load/reindex.sh [N, default 1000000]. Needs sqlite3 and curl; writes about 9 KB per delivery to /tmp.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT="${1:-1000000}"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.LogBench -v q -nologo >/dev/null

serve() {
  GitHub__WebhookSecret="reindex-secret" ConnectionStrings__Hubgate="Data Source=$WORK/hubgate.db" Webhooks__RunWorker=false \
    Webhooks__LogBodiesFrom=0 Logging__LogLevel__Default=Warning \
    dotnet src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll --urls "http://127.0.0.1:5391" >>"$WORK/server.log" 2>&1 &
  PID=$!
}

up() { # bounded: at most 3600 s
  for _ in $(seq 1 36000); do curl -s -o /dev/null "http://127.0.0.1:5391/healthz" && return 0; sleep 0.1; done
  echo "the server did not answer within an hour" >&2; exit 1
}

serve; up; kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
dotnet bench/Hubgate.LogBench/bin/Release/net10.0/Hubgate.LogBench.dll --deliveries "$COUNT" --log "$WORK/hubgate.db.log"
echo "log: $(du -sb "$WORK/hubgate.db.log" | cut -f1) bytes"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(page cache not dropped: not root)"
START=$(date +%s.%N)
serve
for _ in $(seq 1 36000); do grep -q "read again at start" "$WORK/server.log" && break; sleep 0.1; done # at most an hour
END=$(date +%s.%N)
up
ROWS=$(sqlite3 "$WORK/hubgate.db" 'select count(*) from webhook_deliveries')
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'start with {n:,} deliveries indexed again: {s:.1f} s ({n/s:,.0f} deliveries/s)')" "$START" "$END" "$ROWS"
grep -h "read again at start" "$WORK/server.log" | tail -1 || true
echo "database: $(stat -c %s "$WORK/hubgate.db") bytes"
