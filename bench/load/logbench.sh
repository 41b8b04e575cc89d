#!/usr/bin/env bash
# Issue 16: the three log designs (Hubgate's segment log, FASTER's FasterLog, RocksDB with a synced WAL) measured side
# by side with bench/Hubgate.LogBench, the 8.8 KB push and a 1 MiB record, runs interleaved, in a temporary folder under
# /tmp that is deleted afterwards. Prints one line per run and a table of medians (min–max) per record size.
#   bench/load/logbench.sh [rounds] [seconds] [appenders]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-5}
APPENDERS=${3:-32}
dotnet build bench/Hubgate.LogBench -c Release -v quiet -nologo
BENCH=bench/Hubgate.LogBench/bin/Release/net10.0/Hubgate.LogBench.dll
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 8.8 KB push"
dotnet "$BENCH" --record push --rounds "$ROUNDS" --seconds "$SECONDS_PER_RUN" --appenders "$APPENDERS"
echo "== 1 MiB record"
dotnet "$BENCH" --record 1m --rounds "$ROUNDS" --seconds "$SECONDS_PER_RUN" --appenders "$APPENDERS"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
