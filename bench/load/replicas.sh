#!/usr/bin/env bash
# Ingest and processing on PostgreSQL with one and with two Hubgate replicas, same load as bench/load/ingest.sh:
# wrk on loopback, 32 connections in all (two replicas: 16 each, run side by side), the 8.8 KB push/with-new-branch
# payload, a fresh delivery id per request. PostgreSQL 15 is started here from /usr/lib/postgresql/15/bin with its
# default durability (fsync on), in a temporary folder, on 127.0.0.1, and removed at the end. Then the processing
# throughput (`Hubgate.Benchmarks processing --postgres --replicas N`).
# Needs wrk (apt-get install wrk), curl and psql. Usage: bench/load/replicas.sh [seconds per run, default 20] [pushes, default 1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-20}"
PUSHES="${2:-1000}"
SECRET="load-test-secret"
PGBIN="${HUBGATE_PG_BIN:-/usr/lib/postgresql/15/bin}"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
PIDS=()
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/pg/data/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 not found at $PGBIN (apt-get install postgresql-15)" >&2; exit 1; }
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.Benchmarks -v q -nologo >/dev/null

# PostgreSQL, durable defaults, TCP on 127.0.0.1 only.
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_postgres "$PGBIN/initdb" -D "$WORK/pg/data" -U hubgate --auth=trust -E UTF8 --locale=C >/dev/null
printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nport = %s\nmax_connections = 200\n" "$PGPORT" >>"$WORK/pg/data/postgresql.conf"
as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w start >/dev/null
psql_do() { psql -q -h 127.0.0.1 -p "$PGPORT" -U hubgate -d "${2:-postgres}" -At -c "$1"; }
connection() { echo "Host=127.0.0.1;Port=$PGPORT;Username=hubgate;Database=$1"; }

BODY=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$BODY" "$WORK/body.json"
printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)" > "$WORK/signature.txt"

wait_up() { # port
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.2; done
  echo "server on port $1 did not start" >&2; cat "$WORK"/hubgate-*.log >&2; exit 1
}

start_hubgate() { # port database worker
  Database__Provider=Postgres ConnectionStrings__Hubgate="$(connection "$2")" GitHub__WebhookSecret="$SECRET" \
    Webhooks__RunWorker="$3" GitHub__SyncInterval=0 Logging__LogLevel__Default=Warning \
    dotnet src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll --urls "http://127.0.0.1:$1" >"$WORK/hubgate-$1.log" 2>&1 &
  echo $!
}

wrk_run() { # port connections label
  wrk -t1 -c"$2" -d"${DURATION}s" --latency -s bench/load/ingest.lua "http://127.0.0.1:$1" -- \
    "$WORK/body.json" "$WORK/signature.txt" "$3-$RANDOM" | grep RESULT
}

# run label replicas worker: a fresh database, the replicas started (the first migrates, then the rest), a warm-up,
# then the measured run; with two replicas, two wrk processes side by side and their figures combined.
run() {
  local label=$1 replicas=$2 worker=$3 db="bench_$RANDOM$RANDOM" ports=() pids=()
  psql_do "CREATE DATABASE $db"
  for i in $(seq 1 "$replicas"); do
    local port=$((5300 + i)) pid
    pid=$(start_hubgate "$port" "$db" "$worker"); PIDS+=("$pid"); pids+=("$pid"); ports+=("$port")
    wait_up "$port"
  done
  local per=$((32 / replicas))
  for port in "${ports[@]}"; do wrk_run "$port" "$per" warm >/dev/null & done; wait
  for port in "${ports[@]}"; do wrk_run "$port" "$per" "$label" >"$WORK/result-$port.txt" & done; wait
  cat "$WORK"/result-*.txt | awk -v label="$label" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      rps += v["rps"]; req += v["requests"]; non += v["non2xx"]; err += v["socket_errors"]
      if (v["p99_ms"] > p99) p99 = v["p99_ms"]; if (v["p50_ms"] > p50) p50 = v["p50_ms"] }
    END { printf "%s rps=%.1f requests=%d p50_ms(worst)=%.2f p99_ms(worst)=%.2f non2xx=%d socket_errors=%d\n", label, rps, req, p50, p99, non, err }'
  rm -f "$WORK"/result-*.txt
  for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  echo "$label rows stored: $(psql_do 'SELECT count(*) FROM webhook_deliveries' "$db")"
}

run "postgres-1-replica-ingest-only" 1 false
run "postgres-2-replicas-ingest-only" 2 false
run "postgres-1-replica-worker-on" 1 true
run "postgres-2-replicas-worker-on" 2 true

for replicas in 1 2; do
  dotnet bench/Hubgate.Benchmarks/bin/Release/net10.0/Hubgate.Benchmarks.dll processing "$PUSHES" --postgres --replicas "$replicas" | tail -1
done
