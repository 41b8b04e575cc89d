#!/usr/bin/env bash
# Subscriptions on SQLite, on loopback. Three HTTP subscriptions declared in configuration (sink1..3, default settings:
# no ordering, Concurrency 8) point at sinks on 127.0.0.1 that answer 204 and record, per delivery id, when each
# delivery arrived (bench/Hubgate.FanoutLoad, one process, three ports); the built-in subscription `local` runs too
# (the pushes name an installation the server does not know: looked up and kept as ignored, as in drain.sh).
# Per rate: a fresh database, a 5 s warm-up at 200/s that drains, then an open-loop driver POSTs the signed 8.8 KB
# push/with-new-branch payload at RATE deliveries/s for SECONDS (request i due at i/RATE s, at most 512 in flight),
# then the backlog (deliveries not fanned out + rows of any subscription pending, processing or failed) is polled in
# the database every 100 ms until it is zero. Reported per run:
#   - counts: deliveries stored, rows per subscription by state, distinct deliveries each sink received (and repeats);
#   - receipt → sink p50/p99/max: the sink's clock at arrival minus the delivery's ReceivedAt as the server stored it
#     (same machine, same clock);
#   - drain_s: from the driver's last response to a zero backlog;
#   - server CPU (user + system from /proc/PID/stat) from the start of the load to the zero backlog, per delivery
#     (one delivery = its ingest, fan-out to 4 subscriptions, 3 signed POSTs and local's lookup).
# The load average is printed with each run: the machine is shared, read it next to the numbers.
#   SINK_CONCURRENCY=N sets the three subscriptions' Concurrency (default 8), e.g. SINK_CONCURRENCY=32 bench/load/fanout.sh 1000 60
#
#   bench/load/fanout.sh [rates, default "1000"] [seconds, default 60]          HTTP fan-out, e.g. "1000 1500 2000"
#   bench/load/fanout.sh ingest [pairs, default 3] [seconds, default 20]        ingest alone (Webhooks:RunWorker=false) with
#       three subscriptions configured against none, interleaved A/B, wrk with ingest.lua (32 connections), as ingest.sh
#   bench/load/fanout.sh stream [rate, default 1000] [seconds, default 60]      one Stream subscription `feed` and one
#       listener on GET /api/subscriptions/feed/events (admin key); receipt → listener p50/p99 by the SSE id (= sequence)
#   bench/load/fanout.sh rabbitmq [rate, default 1000] [seconds, default 60] [backlog, default 40000]
#       one RabbitMQ subscription `bus` (Concurrency RMQ_CONCURRENCY, default 64) publishing with confirms to a node of
#       the script's own (Debian's rabbitmq-server, own epmd, 127.0.0.1; one consumer on a queue bound with '#'):
#       1. backlog: BACKLOG pushes stored and fanned out while `bus` is declared paused (local drains them), then the
#          server restarted with `bus` active: publish rate = rows confirmed ÷ (last ProcessedAt − first ProcessedAt);
#       2. rate: a fresh database, RATE/s for SECONDS; receipt → confirmed (the row's ProcessedAt − ReceivedAt) and
#          receipt → consumer p50/p99.
# Needs wrk, curl, openssl, sqlite3, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECRET="load-test-secret"
SINK_SECRET="fanout-sink-secret-0123456789"
API_KEY="fanout-admin-key-0123456789abcdef"
# PORT=N moves the server (and the sinks to N+1..N+3, the RabbitMQ node to N+10..N+12): another run on the machine.
PORT=${PORT:-5400}
SINK_PORTS=($((PORT + 1)) $((PORT + 2)) $((PORT + 3)))
WORK="$(mktemp -d)"
PIDS=()
# An entry -PGID is a process group of the script's own (the RabbitMQ node and its epmd): the whole group is stopped.
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -- "$pid" 2>/dev/null || true; done; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk curl openssl sqlite3 python3; do command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
dotnet build -c Release src/Hubgate.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Hubgate.FanoutLoad -v q -nologo >/dev/null
# SERVER_DLL: another build of the server to compare (A/B), e.g. a copy of bin/Release/net10.0 from the commit before.
SERVER_DLL="${SERVER_DLL:-src/Hubgate.Server/bin/Release/net10.0/Hubgate.Server.dll}"
TOOL="dotnet bench/Hubgate.FanoutLoad/bin/Release/net10.0/Hubgate.FanoutLoad.dll"

BODY=tests/fixtures/github-webhooks/push/with-new-branch.payload.json
cp "$BODY" "$WORK/body.json"
printf 'sha256=%s' "$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)" > "$WORK/signature.txt"
TICKS=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TICKS" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'; }
now() { date +%s.%N; }

wait_up() { # url
  for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "nothing answers at $1" >&2; exit 1
}

start_hubgate() { # db worker subscriptions(http|stream|rabbitmq|rabbitmq-paused|none)
  # Something else on the port would take the load meant for this server: refuse rather than measure it.
  if (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then echo "127.0.0.1:$PORT is in use (another run?): set PORT" >&2; exit 1; fi
  local -a env=(GitHub__WebhookSecret="$SECRET" ConnectionStrings__Hubgate="Data Source=$1" Webhooks__RunWorker="$2"
    Hubgate__ApiKey="$API_KEY" Logging__LogLevel__Default=Warning)
  case "$3" in
    http)
      env+=(Subscriptions__AllowLoopback=true)
      for i in 1 2 3; do
        env+=("Subscriptions__sink${i}__Url=http://127.0.0.1:${SINK_PORTS[$((i - 1))]}/" "Subscriptions__sink${i}__Secret=$SINK_SECRET")
        # SINK_CONCURRENCY=N sets each subscription's Concurrency (default: the subscription default, 8).
        [[ -n "${SINK_CONCURRENCY:-}" ]] && env+=("Subscriptions__sink${i}__Concurrency=$SINK_CONCURRENCY")
      done ;;
    stream) env+=(Subscriptions__feed__Kind=Stream) ;;
    rabbitmq*)
      env+=(Subscriptions__bus__Kind=RabbitMq "Subscriptions__bus__RabbitMq__Uri=$RMQ_URI" Subscriptions__bus__RabbitMq__Exchange=github
        "Subscriptions__bus__Concurrency=${RMQ_CONCURRENCY:-64}")
      [[ "$3" = rabbitmq-paused ]] && env+=(Subscriptions__bus__Paused=true) ;;
  esac
  env "${env[@]}" dotnet "$SERVER_DLL" --urls "http://127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  echo $!
}

# Deliveries not yet fanned out plus rows owed by any subscription (along the claim index, one subscription at a time).
backlog() { # db subscriptions...
  local db=$1 sql="SELECT (SELECT count(*) FROM webhook_deliveries WHERE NOT FannedOut)" s
  shift
  for s in "$@"; do
    sql+=" + (SELECT count(*) FROM subscription_deliveries WHERE Subscription = '$s' AND State IN ('Pending', 'Processing', 'Failed'))"
  done
  sqlite3 -cmd ".timeout 5000" "$db" "$sql;"
}

drain() { # db subscriptions... → seconds to a zero backlog (at most 300 s)
  local started left
  started=$(now)
  for _ in $(seq 1 3000); do
    left=$(backlog "$@")
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  echo "$(echo "$(now) - $started" | bc) $left"
}

# Receipt (the server's ReceivedAt) → arrival at each recorder, per delivery of run $2.
report() { # db run files...
  python3 - "$@" <<'PY'
import sqlite3, sys, statistics
db, run, files = sys.argv[1], sys.argv[2], sys.argv[3:]
con = sqlite3.connect(db)
# ReceivedAt is EF Core's DateTimeOffsetToBinaryConverter: (ticks / 1000) << 11 | offset minutes; ticks from 0001-01-01.
received, by_seq = {}, {}
for seq, did, v in con.execute("SELECT Id, DeliveryId, ReceivedAt FROM webhook_deliveries WHERE DeliveryId LIKE ?", (run + "-%",)):
    ms = (v >> 11) / 10.0 - 62135596800000.0
    received[did] = ms
    by_seq[str(seq)] = did
print(f"  stored={len(received)}")
for s, state, n in con.execute("SELECT Subscription, State, count(*) FROM subscription_deliveries s JOIN webhook_deliveries d ON d.Id = s.DeliverySeq "
                               "WHERE d.DeliveryId LIKE ? GROUP BY 1, 2 ORDER BY 1, 2", (run + "-%",)):
    print(f"  rows {s} {state}={n}")
def pct(xs, q): return xs[min(len(xs) - 1, int(q * len(xs)))]
for f in files:
    first, repeats, lat = {}, 0, []
    for line in open(f):
        key, at = line.strip().split(",")[:2]
        did = by_seq.get(key, key)  # a stream's recorder writes the sequence
        if did not in received:
            continue
        if did in first:
            repeats += 1
            continue
        first[did] = float(at)
        lat.append(float(at) - received[did])
    lat.sort()
    missing = len(received) - len(first)
    line = f"  {f.rsplit('/', 1)[-1]}: distinct={len(first)} missing={missing} repeats={repeats}"
    if lat:
        line += f" receipt_to_arrival_ms p50={pct(lat, .5):.1f} p99={pct(lat, .99):.1f} max={lat[-1]:.1f} min={lat[0]:.1f}"
    print(line)
PY
}

fanout() { # rate seconds
  local rate=$1 seconds=$2 db="$WORK/fanout-$1.db" run="r$1-$RANDOM" pid sinks cpu0 cpu1 t0 result drained
  rm -rf "$WORK/sinks" && mkdir -p "$WORK/sinks"
  $TOOL sinks "$(IFS=,; echo "${SINK_PORTS[*]}")" "$WORK/sinks" >"$WORK/sinks.log" 2>&1 &
  sinks=$!; PIDS+=("$sinks")
  pid=$(start_hubgate "$db" true http); PIDS+=("$pid")
  wait_up "http://127.0.0.1:${SINK_PORTS[0]}/count"; wait_up "http://127.0.0.1:$PORT/"
  $TOOL drive "http://127.0.0.1:$PORT/webhooks/github" 200 5 "$WORK/body.json" "$SECRET" "warm$rate" | grep RESULT | sed 's/^RESULT/  warm-up/' >&2 || true
  drain "$db" local sink1 sink2 sink3 >/dev/null
  printf 'rate=%s seconds=%s load_before=%s ' "$rate" "$seconds" "$(load_avg)"
  cpu0=$(cpu_ms "$pid"); t0=$(now)
  result=$($TOOL drive "http://127.0.0.1:$PORT/webhooks/github" "$rate" "$seconds" "$WORK/body.json" "$SECRET" "$run" | grep RESULT || true)
  drained=$(drain "$db" local sink1 sink2 sink3)
  cpu1=$(cpu_ms "$pid")
  local stored; stored=$(sqlite3 "$db" "SELECT count(*) FROM webhook_deliveries WHERE DeliveryId LIKE '$run-%'")
  echo "load_after=$(load_avg) ${result#RESULT } drain_s=${drained% *} backlog_left=${drained#* } wall_s=$(echo "$(now) - $t0" | bc)" \
    "server_cpu_ms=$((cpu1 - cpu0)) server_cpu_ms_per_delivery=$(echo "scale=3; ($cpu1 - $cpu0) / $stored" | bc)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  kill "$sinks"; wait "$sinks" 2>/dev/null || true
  report "$db" "$run" "$WORK"/sinks/sink-*.csv
}

ingest() { # pairs seconds
  local pairs=$1 seconds=$2 pair mode pid
  for pair in $(seq 1 "$pairs"); do
    for mode in none http; do
      pid=$(start_hubgate "$WORK/ingest-$pair-$mode.db" false "$mode"); PIDS+=("$pid")
      wait_up "http://127.0.0.1:$PORT/"
      wrk -t2 -c32 -d5s -s bench/load/ingest.lua "http://127.0.0.1:$PORT" -- "$WORK/body.json" "$WORK/signature.txt" "warm-$pair-$mode" >/dev/null
      printf 'pair=%s subscriptions=%s load=%s ' "$pair" "$([ "$mode" = http ] && echo 3 || echo 0)" "$(load_avg)"
      wrk -t2 -c32 -d"${seconds}s" --latency -s bench/load/ingest.lua "http://127.0.0.1:$PORT" -- \
        "$WORK/body.json" "$WORK/signature.txt" "$mode-$pair-$RANDOM" | grep RESULT | sed 's/^RESULT //' \
        || { echo "no result; the server's log:"; tail -20 "$WORK/server.log"; }
      kill "$pid"; wait "$pid" 2>/dev/null || true
    done
  done
}

stream() { # rate seconds
  local rate=$1 seconds=$2 db="$WORK/stream.db" run="s$1-$RANDOM" pid listener result drained
  pid=$(start_hubgate "$db" true stream); PIDS+=("$pid")
  wait_up "http://127.0.0.1:$PORT/"
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $API_KEY" \
    "http://127.0.0.1:$PORT/api/subscriptions/feed/events?after=999999999" || true)
  [ "$code" = 200 ] || [ "$code" = 000 ] || { echo "GET /api/subscriptions/feed/events answers $code: the stream endpoint is not in this build" >&2; exit 1; }
  $TOOL listen "http://127.0.0.1:$PORT/api/subscriptions/feed/events" "$API_KEY" "$WORK/listener.csv" $((seconds + 40)) >"$WORK/listener.log" 2>&1 &
  listener=$!; PIDS+=("$listener")
  sleep 1
  printf 'stream rate=%s seconds=%s load_before=%s ' "$rate" "$seconds" "$(load_avg)"
  result=$($TOOL drive "http://127.0.0.1:$PORT/webhooks/github" "$rate" "$seconds" "$WORK/body.json" "$SECRET" "$run" | grep RESULT || true)
  drained=$(drain "$db" local)
  echo "load_after=$(load_avg) ${result#RESULT } local_drain_s=${drained% *}"
  wait "$listener" || true
  cat "$WORK/listener.log"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  report "$db" "$run" "$WORK/listener.csv"
}

# A RabbitMQ node of this script's own, in its own process group (stopped with it): own epmd, ports, data, cookie.
RMQ_PORT=$((PORT + 10))
start_rabbitmq() {
  local root="$WORK/rmq" i
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || { echo "rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }
  mkdir -p "$root/home" "$root/mnesia" "$root/log"
  RMQ_PASSWORD="bench-$(openssl rand -hex 8)"
  RMQ_URI="amqp://hubgate:$RMQ_PASSWORD@127.0.0.1:$RMQ_PORT/"
  printf 'listeners.tcp.1 = 127.0.0.1:%s\ndefault_user = hubgate\ndefault_pass = %s\nloopback_users = none\ndisk_free_limit.absolute = 50MB\nlog.console = false\n' \
    "$RMQ_PORT" "$RMQ_PASSWORD" > "$root/rabbitmq.conf"
  echo '[].' > "$root/enabled_plugins"
  if (echo > "/dev/tcp/127.0.0.1/$RMQ_PORT") 2>/dev/null; then echo "127.0.0.1:$RMQ_PORT is in use (another run?): set PORT" >&2; exit 1; fi
  setsid epmd -address 127.0.0.1 -port $((PORT + 12)) >/dev/null 2>&1 &
  PIDS+=("-$!")
  HOME="$root/home" ERL_EPMD_PORT=$((PORT + 12)) RABBITMQ_NODENAME="hubgate-bench-$PORT@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$RMQ_PORT RABBITMQ_DIST_PORT=$((PORT + 11)) RABBITMQ_MNESIA_BASE="$root/mnesia" RABBITMQ_LOG_BASE="$root/log" \
    RABBITMQ_CONFIG_FILE="$root/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$root/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$root/out.log" 2>&1 &
  PIDS+=("-$!")
  for i in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$RMQ_PORT") 2>/dev/null && return 0; sleep 0.2; done
  echo "RabbitMQ did not start:"; tail -20 "$root/out.log"; exit 1
}

# Receipt → confirmed for subscription $3 of run $2: the row's ProcessedAt minus the delivery's ReceivedAt, and the rate
# at which rows were confirmed (between the first and the last ProcessedAt).
confirmed() { # db run subscription
  python3 - "$@" <<'PY'
import sqlite3, sys
db, run, sub = sys.argv[1:4]
con = sqlite3.connect(db)
def ms(v): return (v >> 11) / 10.0 - 62135596800000.0
rows = [(ms(r), ms(p)) for r, p in con.execute(
    "SELECT d.ReceivedAt, s.ProcessedAt FROM subscription_deliveries s JOIN webhook_deliveries d ON d.Id = s.DeliverySeq "
    "WHERE s.Subscription = ? AND s.State = 'Processed' AND d.DeliveryId LIKE ?", (sub, run + "-%"))]
if not rows:
    print(f"  {sub}: nothing confirmed"); sys.exit()
lag = sorted(p - r for r, p in rows)
first, last = min(p for _, p in rows), max(p for _, p in rows)
def pct(q): return lag[min(len(lag) - 1, int(q * len(lag)))]
rate = len(rows) / ((last - first) / 1000.0) if last > first else float("nan")
print(f"  {sub}: confirmed={len(rows)} receipt_to_confirmed_ms p50={pct(.5):.1f} p99={pct(.99):.1f} max={lag[-1]:.1f} "
      f"confirm_window_s={(last - first) / 1000.0:.2f} confirmed_per_s={rate:.0f}")
PY
}

stop_hubgate() { # pid: the server must still be running (its log if not)
  if ! kill "$1" 2>/dev/null; then echo "the server (pid $1) had stopped; its log:" >&2; tail -30 "$WORK/server.log" >&2; exit 1; fi
  wait "$1" 2>/dev/null || true
  # Started in a command substitution, the server is not this shell's child and `wait` returns at once: wait (at most
  # 30 s) until it has exited, so that the next start finds its port free.
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
}

rabbitmq() { # rate seconds backlog
  local rate=$1 seconds=$2 backlog_n=$3 db="$WORK/rmq-backlog.db" run="b-$RANDOM" pid consumer result drained
  start_rabbitmq
  $TOOL consume "$RMQ_URI" github "$WORK/consumer-backlog.csv" 900 >"$WORK/consumer.log" 2>&1 &
  consumer=$!; PIDS+=("$consumer")
  sleep 2
  # 1. From a stored backlog: stored and fanned out with `bus` paused (local drains them), then `bus` resumed alone.
  pid=$(start_hubgate "$db" true rabbitmq-paused); PIDS+=("$pid")
  wait_up "http://127.0.0.1:$PORT/"
  printf 'rabbitmq backlog=%s load_before=%s ' "$backlog_n" "$(load_avg)"
  result=$($TOOL drive "http://127.0.0.1:$PORT/webhooks/github" 2000 $((backlog_n / 2000)) "$WORK/body.json" "$SECRET" "$run" | grep RESULT || true)
  drained=$(drain "$db" local)
  echo "stored: ${result#RESULT } local_drain_s=${drained% *}"
  stop_hubgate "$pid"
  printf 'rabbitmq backlog publish: concurrency=%s load_before=%s ' "${RMQ_CONCURRENCY:-64}" "$(load_avg)"
  pid=$(start_hubgate "$db" true rabbitmq); PIDS+=("$pid")
  drained=$(drain "$db" bus)
  echo "drain_s=${drained% *} backlog_left=${drained#* } load_after=$(load_avg)"
  stop_hubgate "$pid"
  confirmed "$db" "$run" bus
  # 2. At a steady rate.
  db="$WORK/rmq-rate.db"; run="r$rate-$RANDOM"
  pid=$(start_hubgate "$db" true rabbitmq); PIDS+=("$pid")
  wait_up "http://127.0.0.1:$PORT/"
  $TOOL drive "http://127.0.0.1:$PORT/webhooks/github" 200 5 "$WORK/body.json" "$SECRET" "warm$rate" | grep RESULT | sed 's/^RESULT/  warm-up/' >&2 || true
  drain "$db" local bus >/dev/null
  printf 'rabbitmq rate=%s seconds=%s concurrency=%s load_before=%s ' "$rate" "$seconds" "${RMQ_CONCURRENCY:-64}" "$(load_avg)"
  result=$($TOOL drive "http://127.0.0.1:$PORT/webhooks/github" "$rate" "$seconds" "$WORK/body.json" "$SECRET" "$run" | grep RESULT || true)
  drained=$(drain "$db" local bus)
  echo "load_after=$(load_avg) ${result#RESULT } drain_s=${drained% *} backlog_left=${drained#* }"
  stop_hubgate "$pid"
  kill "$consumer"; wait "$consumer" 2>/dev/null || true
  cat "$WORK/consumer.log"
  confirmed "$db" "$run" bus
  report "$db" "$run" "$WORK/consumer-backlog.csv"
}

case "${1:-}" in
  rabbitmq) rabbitmq "${2:-1000}" "${3:-60}" "${4:-40000}" ;;
  ingest) ingest "${2:-3}" "${3:-20}" ;;
  stream) stream "${2:-1000}" "${3:-60}" ;;
  *) for rate in ${1:-1000}; do fanout "$rate" "${2:-60}"; done ;;
esac
