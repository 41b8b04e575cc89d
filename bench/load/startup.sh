#!/usr/bin/env bash
# Start-up on loopback: time from process start to the first 202 on a signed webhook, then deliveries ingested in the
# first 30 s, for (A) the framework-dependent build (`dotnet .../Hubgate.Server.dll`) and (B) the single-file
# ReadyToRun `hubgate` (publish profile linux-x64), interleaved A, B, A, B, ... because the machine is shared.
# Each run: a fresh data directory (so the first start creates and migrates the SQLite database, as on a new server),
# the worker on, logs at Warning. The first 202 is polled with curl every 50 ms (60 s at most); from then wrk drives
# the rest of the 30 s with the 8.8 KB push/with-new-branch payload (32 connections, a fresh delivery id per request).
# CPU is the process's user+system time from /proc/PID/stat at the first 202 and at 30 s (the JIT runs there).
# Needs wrk, curl, openssl, sqlite3. Usage: bench/load/startup.sh [pairs, default 3] [extra-label=/path/to/hubgate ...]
# (an extra binary, run from its own folder, joins the rotation, e.g. composite=/tmp/composite/hubgate).
set -euo pipefail
cd "$(dirname "$0")/../.."
PAIRS="${1:-3}"
shift || true
SECRET="load-test-secret"
WINDOW=30
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk curl openssl sqlite3; do command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet publish src/Hubgate.Server -p:PublishProfile=linux-x64 -o "$WORK/published" -v q -nologo >/dev/null

declare -A COMMAND DIRECTORY
COMMAND[framework-dependent]="dotnet Hubgate.Server.dll"; DIRECTORY[framework-dependent]="$PWD/src/Hubgate.Server/bin/Release/net10.0"
COMMAND[single-file-r2r]="./hubgate";                     DIRECTORY[single-file-r2r]="$WORK/published"
LABELS=(framework-dependent single-file-r2r)
for extra in "$@"; do
  label="${extra%%=*}"; binary="${extra#*=}"
  COMMAND[$label]="./$(basename "$binary")"; DIRECTORY[$label]="$(cd "$(dirname "$binary")" && pwd)"; LABELS+=("$label")
done

BODY=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$BODY" "$WORK/body.json"
SIGNATURE="sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)"
printf '%s' "$SIGNATURE" > "$WORK/signature.txt"
TICKS=$(getconf CLK_TCK)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ms() { awk -v t="$TICKS" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; } # utime + stime

run() { # label port
  local label=$1 port=$2 home="$WORK/run-$2" start first pid cpu_first ingested cpu_end code="" i
  mkdir -p "$home/home"
  start=$(now_ms)
  (cd "${DIRECTORY[$label]}" && exec env HOME="$home/home" XDG_DATA_HOME="$home/data" GitHub__WebhookSecret="$SECRET" \
     Logging__LogLevel__Default=Warning ${COMMAND[$label]} --urls "http://127.0.0.1:$port" >"$home/log" 2>&1) &
  pid=$!; PIDS+=("$pid")
  for i in $(seq 1 1200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
      -H "X-GitHub-Delivery: first-$port-$i" -H "X-Hub-Signature-256: $SIGNATURE" --data-binary "@$WORK/body.json" \
      "http://127.0.0.1:$port/webhooks/github" || true)
    [ "$code" = 202 ] && break
    kill -0 "$pid" 2>/dev/null || { echo "$label exited while starting:" >&2; tail -20 "$home/log" >&2; exit 1; }
    sleep 0.05
  done
  [ "$code" = 202 ] || { echo "$label: no 202 within 60 s" >&2; exit 1; }
  first=$(( $(now_ms) - start )); cpu_first=$(cpu_ms "$pid")
  local rest=$(( (start + WINDOW * 1000 - $(now_ms)) / 1000 ))
  local wrk_line="requests=0"
  if [ "$rest" -ge 1 ]; then
    wrk_line=$(wrk -t2 -c32 -d"${rest}s" -s bench/load/ingest.lua "http://127.0.0.1:$port" -- \
      "$WORK/body.json" "$WORK/signature.txt" "$label-$port" | grep RESULT)
  fi
  cpu_end=$(cpu_ms "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  ingested=$(sqlite3 "$home/data/hubgate/hubgate.db" 'select count(*) from webhook_deliveries')
  echo "$label first_202_ms=$first cpu_at_first_202_ms=$cpu_first ingested_30s=$ingested cpu_30s_ms=$cpu_end $(sed 's/^RESULT //' <<<"$wrk_line")"
  rm -rf "$home"
}

port=5300
for pair in $(seq 1 "$PAIRS"); do
  for label in "${LABELS[@]}"; do
    port=$((port + 1))
    printf 'pair=%s load=%s ' "$pair" "$(cut -d' ' -f1 /proc/loadavg)"
    run "$label" "$port"
  done
done
