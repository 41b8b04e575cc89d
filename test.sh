#!/usr/bin/env bash
# Runs the whole test suite twice — on SQLite, then on a throwaway PostgreSQL 15 that the tests start themselves from
# /usr/lib/postgresql/15/bin — against the fake GitHub in src/Hubgate.Testing.
set -euo pipefail
cd "$(dirname "$0")"

results="$(mktemp -d)"
# (A trap command that fails would turn the run's exit status into 1 under set -e: none may fail.)
trap 'if [[ -n "${soak:-}" ]]; then kill "$soak" 2>/dev/null || true; fi; rm -rf "$results"' EXIT

# PostgreSQL 15 for the second pass comes with the machine image; install it if this machine lacks it.
pg_bin="${HUBGATE_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ ! -x "$pg_bin/initdb" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "PostgreSQL 15 not found at $pg_bin: installing postgresql-15" >&2
  apt-get install -y -q postgresql-15 >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q postgresql-15 >/dev/null; }
fi

# The dashboard's browser test drives Debian's Chromium (headless); install it if this machine lacks it.
if [[ ! -x /usr/bin/chromium && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Chromium not found: installing chromium" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi

# The RabbitMQ subscription tests start a node of their own from Debian's rabbitmq-server (never its system service);
# install it if this machine lacks it. Its post-install tries to start the system service, which may fail in a
# container: that is fine, the package's files are what the tests need.
if [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "RabbitMQ not found: installing rabbitmq-server" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null; } \
    || true
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || echo "rabbitmq-server could not be installed: the RabbitMQ tests will fail saying so" >&2
fi

status=0
dotnet build Hubgate.slnx -v quiet -nologo || exit $?

# Pass 1: everything on SQLite (the embedded default), except tests that need PostgreSQL itself, and the 60 s soak.
echo "== tests on SQLite"
dotnet test Hubgate.slnx --no-build --logger "trx" --results-directory "$results" --filter "Database!=Postgres&FullyQualifiedName!~.SoakTests." "$@" || status=$?

# The soak (SQLite, 60 s at 20 deliveries/s) measures its test process's heap, so nothing else may run in that process:
# it runs in a process of its own, beside pass 2, rather than alone at the end of pass 1 with the machine idle.
echo "== the soak test on SQLite, beside the PostgreSQL pass (its output follows that pass)"
dotnet test tests/Hubgate.Server.Tests --no-build --logger "trx;LogFileName=soak.trx" --results-directory "$results" \
  --filter "FullyQualifiedName~.SoakTests." "$@" > "$results/soak.log" 2>&1 &
soak=$!

# Pass 2: the same suite on a throwaway PostgreSQL 15 that the tests start themselves (initdb into a temporary folder,
# 127.0.0.1, a free port), plus the PostgreSQL-only tests (several replicas, the database going away). If PostgreSQL
# cannot be started these tests fail with a message saying why; they are never skipped.
echo "== tests on PostgreSQL"
HUBGATE_TEST_DATABASE=postgres dotnet test Hubgate.slnx --no-build --logger "trx" --results-directory "$results" --filter "Database!=Sqlite" "$@" || status=$?
echo "== the soak test"
wait "$soak" || status=$?
cat "$results/soak.log"

# One plain closing line over every test assembly.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [[ $status -eq 0 && $passed -eq 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit $status
