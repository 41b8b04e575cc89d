#!/usr/bin/env bash
# Interleaved A/B of two builds with the worker on (issue 16's figure: ingest and processing in balance): the
# server built from a git ref (A, in a temporary worktree) against the working tree (B), each in a fresh SQLite data
# folder, alternately, next to a minimal Octokit.Webhooks.AspNetCore receiver that stores nothing (once per round, for
# the ratio). wrk on loopback, 2 threads, 32 connections, the 8.8 KB push with a fresh delivery id per request; a
# warm-up, then the measured run. Pushes of an installation Hubgate has never seen, with no App credentials (each is
# looked up and kept as ignored), or with `known` an installation.created delivery first, so each push is recorded
# by its handler. For each Hubgate run: requests/s, p50/p99, deliveries stored and processed by `local` during the
# measured run, the backlog left at its end (not yet fanned out + not yet processed), and the server's CPU (user +
# system, from /proc) per delivery stored.
# Usage: bench/load/workerab.sh <git ref for A> [seconds per run, default 15] [rounds, default 3] [unknown | known]
# Needs wrk (apt-get install wrk), sqlite3, curl, openssl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
REF="${1:?usage: workerab.sh <git ref for A> [seconds] [rounds] [unknown|known]}"
DURATION="${2:-15}"
ROUNDS="${3:-3}"
INSTALLATION="${4:-unknown}"
SECRET="load-test-secret"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  git worktree remove --force "$WORK/a" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk sqlite3 curl openssl python3; do command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
git worktree add -q --detach "$WORK/a" "$REF"
(cd "$WORK/a" && dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null)
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.LoadBaseline -v q -nologo >/dev/null
declare -A BUILD=([A]="$WORK/a/src/Hubgate.Server/bin/Release/net10.0" [B]="src/Hubgate.Server/bin/Release/net10.0")

PUSH=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$PUSH" "$WORK/body.json"
sign() { printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1)"; }
sign "$WORK/body.json" > "$WORK/signature.txt"
python3 - "$PUSH" tests/fixtures/github-webhooks/installation/created.payload.json "$WORK/installation.json" <<'PY'
import json, sys
push, created, out = (json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3])
created["installation"]["id"] = push["installation"]["id"]
open(out, "w").write(json.dumps(created))
PY
echo "A: $(git rev-parse --short "$REF"); B: the working tree; pushes of an $INSTALLATION installation; ${DURATION}s per run; $ROUNDS rounds"

wait_up() { # port
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done
  echo "server on port $1 did not start" >&2; exit 1
}

load() { # port run-id
  wrk -t2 -c32 -d"${DURATION}s" --latency -s bench/load/ingest.lua "http://127.0.0.1:$1" -- \
    "$WORK/body.json" "$WORK/signature.txt" "$2" | grep RESULT
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
q() { sqlite3 "$1" "$2" 2>/dev/null || echo 0; }
processed() { q "$1" "select count(*) from subscription_deliveries where ProcessedAt is not null"; }
backlog() { q "$1" "select (select count(*) from webhook_deliveries where FannedOut = 0) + (select count(*) from subscription_deliveries where ProcessedAt is null)"; }

hubgate_run() { # build round
  local dir="$WORK/$1-$2" port=5293
  mkdir -p "$dir"
  GitHub__WebhookSecret="$SECRET" ConnectionStrings__Hubgate="Data Source=$dir/hubgate.db" Webhooks__RunWorker=true \
    Logging__LogLevel__Default=Warning \
    dotnet "${BUILD[$1]}/Hubgate.Server.dll" --urls "http://127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  wait_up $port
  if [[ "$INSTALLATION" == "known" ]]; then
    curl -s -o /dev/null -H "Content-Type: application/json" -H "X-GitHub-Event: installation" -H "X-GitHub-Delivery: installation-1" \
      -H "X-Hub-Signature-256: $(sign "$WORK/installation.json")" --data-binary "@$WORK/installation.json" "http://127.0.0.1:$port/webhooks/github"
    sleep 1
  fi
  load $port "warm-$1-$2" >/dev/null
  sleep 2
  local db="$dir/hubgate.db" rows0 done0 cpu0 result rows1 done1 cpu1 left hz
  rows0=$(q "$db" 'select count(*) from webhook_deliveries'); done0=$(processed "$db"); cpu0=$(cpu_ticks $pid)
  result=$(load $port "run-$1-$2")
  cpu1=$(cpu_ticks $pid); rows1=$(q "$db" 'select count(*) from webhook_deliveries'); done1=$(processed "$db"); left=$(backlog "$db")
  hz=$(getconf CLK_TCK)
  local stored=$((rows1 - rows0))
  echo "$1 round=$2 ${result#RESULT } stored=$stored processed=$((done1 - done0)) backlog_at_end=$left" \
    "cpu_us_per_delivery=$(( stored > 0 ? (cpu1 - cpu0) * 1000000 / hz / stored : 0 ))" \
    "pushes_recorded=$(q "$db" 'select count(*) from pushes') load=$(cut -d' ' -f1 /proc/loadavg)"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
  GitHub__WebhookSecret="$SECRET" dotnet bench/Hubgate.LoadBaseline/bin/Release/net10.0/Hubgate.LoadBaseline.dll \
    --urls "http://127.0.0.1:5292" >"$WORK/baseline.log" 2>&1 &
  base=$!; PIDS+=($base)
  wait_up 5292
  load 5292 "warm-octokit-$round" >/dev/null
  echo "octokit round=$round $(load 5292 "octokit-$round" | sed 's/^RESULT //')"
  kill $base; wait $base 2>/dev/null || true
  if (( round % 2 )); then hubgate_run A "$round"; hubgate_run B "$round"; else hubgate_run B "$round"; hubgate_run A "$round"; fi
done
