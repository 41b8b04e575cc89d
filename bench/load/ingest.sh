#!/usr/bin/env bash
# Ingest load on loopback: Hubgate (durable, SQLite) against a minimal Octokit.Webhooks.AspNetCore receiver that
# stores nothing, same machine, same run. 32 connections, the 8.8 KB push/with-new-branch payload, a fresh delivery id
# per request; Hubgate with the worker on twice (pushes of an unknown installation, ignored; then of a known one, recorded),
# and ingest only. Then the peak memory of one 25 MB delivery. Needs wrk (apt-get install wrk) and curl.
# Usage: bench/load/ingest.sh [seconds per run, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-20}"
SECRET="load-test-secret"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.LoadBaseline -v q -nologo >/dev/null

BODY=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$BODY" "$WORK/body.json"
printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)" > "$WORK/signature.txt"

wait_up() { # port
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done
  echo "server on port $1 did not start" >&2; exit 1
}

load() { # port label
  wrk -t2 -c32 -d"${DURATION}s" --latency -s bench/load/ingest.lua "http://127.0.0.1:$1" -- \
    "$WORK/body.json" "$WORK/signature.txt" "$2-$RANDOM" | grep RESULT | sed "s/^RESULT/$2/"
}

start_hubgate() { # port db worker
  GitHub__WebhookSecret="$SECRET" ConnectionStrings__Hubgate="Data Source=$2" Webhooks__RunWorker="$3" \
    Logging__LogLevel__Default=Warning \
    dotnet src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll --urls "http://127.0.0.1:$1" >"$WORK/hubgate-$1.log" 2>&1 &
  echo $!
}

# 1. Octokit.Webhooks.AspNetCore, storing nothing.
GitHub__WebhookSecret="$SECRET" dotnet bench/Hubgate.LoadBaseline/bin/Release/net10.0/Hubgate.LoadBaseline.dll \
  --urls "http://127.0.0.1:5191" >"$WORK/baseline.log" 2>&1 &
BASE_PID=$!; PIDS+=($BASE_PID)
wait_up 5191
load 5191 "warmup-octokit" >/dev/null
load 5191 "octokit-webhooks-aspnetcore"
kill "$BASE_PID"; wait "$BASE_PID" 2>/dev/null || true

# 2. Hubgate, every delivery committed to SQLite before the 202, worker on (processes them as they arrive).
HG_PID=$(start_hubgate 5192 "$WORK/hubgate.db" true); PIDS+=($HG_PID)
wait_up 5192
load 5192 "warmup-hubgate" >/dev/null
load 5192 "hubgate-sqlite-worker-on"
STORED=$(sqlite3 "$WORK/hubgate.db" 'select count(*) from webhook_deliveries' 2>/dev/null || echo "?")
echo "hubgate rows stored: $STORED"
kill "$HG_PID"; wait "$HG_PID" 2>/dev/null || true

# 2b. Worker on, the pushes' installation known to Hubgate (an installation.created delivery for it first), so that
# each push is recorded by its handler — a push row and the repository's update, in a transaction of its own — as in
# a deployment, rather than looked up and ignored as in run 2.
HG_PID=$(start_hubgate 5195 "$WORK/known.db" true); PIDS+=($HG_PID)
wait_up 5195
python3 - "$BODY" tests/fixtures/github-webhooks/installation/created.payload.json "$WORK/installation.json" <<'PY2'
import json, sys
push, created, out = (json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3])
created["installation"]["id"] = push["installation"]["id"]
open(out, "w").write(json.dumps(created))
PY2
INSTSIG="sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/installation.json" | cut -d' ' -f1)"
curl -s -o /dev/null -H "Content-Type: application/json" -H "X-GitHub-Event: installation" -H "X-GitHub-Delivery: installation-1" \
  -H "X-Hub-Signature-256: $INSTSIG" --data-binary "@$WORK/installation.json" "http://127.0.0.1:5195/webhooks/github"
sleep 1
load 5195 "warmup-known" >/dev/null
load 5195 "hubgate-sqlite-worker-on-known-installation"
echo "pushes recorded by the handler: $(sqlite3 "$WORK/known.db" 'select count(*) from pushes' 2>/dev/null || echo "?")"
kill "$HG_PID"; wait "$HG_PID" 2>/dev/null || true

# 3. Hubgate ingest only (Webhooks:RunWorker=false): the receiver and the durable inbox alone.
HG_PID=$(start_hubgate 5194 "$WORK/ingest.db" false); PIDS+=($HG_PID)
wait_up 5194
load 5194 "warmup-ingest" >/dev/null
load 5194 "hubgate-sqlite-ingest-only"
kill "$HG_PID"; wait "$HG_PID" 2>/dev/null || true

# 4. Peak memory of one 25 MB delivery (VmHWM growth over the resident size before it).
HG_PID=$(start_hubgate 5193 "$WORK/memory.db" false); PIDS+=($HG_PID)
wait_up 5193
python3 - "$WORK/big.json" <<'PY'
import sys
size = 25 * 1024 * 1024
head = b'{"zen":"' ; tail = b'"}'
open(sys.argv[1], "wb").write(head + b"x" * (size - len(head) - len(tail)) + tail)
PY
BIGSIG="sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/big.json" | cut -d' ' -f1)"
small() { curl -s -o /dev/null -H "X-GitHub-Event: ping" -H "X-GitHub-Delivery: warm-$1" -H "X-Hub-Signature-256: $(printf '{}' | openssl dgst -sha256 -hmac "$SECRET" -r | sed 's/ .*//;s/^/sha256=/')" --data-binary '{}' "http://127.0.0.1:5193/webhooks/github"; }
small 1; small 2
sleep 1
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' "/proc/$HG_PID/status")
HWM_BEFORE=$(awk '/VmHWM/ {print $2}' "/proc/$HG_PID/status")
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: application/json" -H "X-GitHub-Event: ping" -H "X-GitHub-Delivery: big-1" \
  -H "X-Hub-Signature-256: $BIGSIG" --data-binary "@$WORK/big.json" "http://127.0.0.1:5193/webhooks/github")
HWM_AFTER=$(awk '/VmHWM/ {print $2}' "/proc/$HG_PID/status")
echo "25MB delivery: status=$CODE rss_before_kib=$RSS_BEFORE hwm_before_kib=$HWM_BEFORE hwm_after_kib=$HWM_AFTER peak_growth_kib=$((HWM_AFTER - RSS_BEFORE)) body_kib=$((25 * 1024))"
