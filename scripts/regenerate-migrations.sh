#!/usr/bin/env bash
# Rebuilds the EF Core migrations of both providers from the current model.
# Usage: scripts/regenerate-migrations.sh [Name]   (default name: Initial, which replaces every existing migration;
# any other name adds a migration on top of the existing ones).
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-Initial}"
dotnet tool restore >/dev/null
if [[ "$name" == "Initial" ]]; then
  rm -rf src/Hubgate/Storage/Migrations
fi
for provider in Sqlite Postgres; do
  dotnet dotnet-ef migrations add "$name" \
    --project src/Hubgate --startup-project src/Hubgate.Server \
    --context "${provider}HubgateDbContext" \
    --output-dir "Storage/Migrations/$provider"
done
