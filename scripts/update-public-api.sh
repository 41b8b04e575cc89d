#!/usr/bin/env bash
# Refreshes src/*/PublicAPI.Unshipped.txt after a DELIBERATE change to a package's public API: the file is emptied and
# rebuilt by the analyzer's own RS0016 code fix, so it holds exactly the public surface that PublicAPI.Shipped.txt does
# not (additions appear, members made internal or deleted since the release disappear). Review the diff before
# committing: every line is a promise to users. Removing a SHIPPED member is a breaking change the script does not make
# for you: the build then fails with RS0017 naming it (docs/packages.md says what to do). At a release, move
# Unshipped's lines into PublicAPI.Shipped.txt.
# Usage: scripts/update-public-api.sh [project.csproj ...]   (default: every project under src/ that has PublicAPI files)
set -euo pipefail
cd "$(dirname "$0")/.."

projects=("$@")
if [[ ${#projects[@]} -eq 0 ]]; then
  for file in src/*/PublicAPI.Unshipped.txt; do
    [[ -f "$file" ]] || continue
    projects+=("$(ls "$(dirname "$file")"/*.csproj)")
  done
fi

for project in "${projects[@]}"; do
  echo "== $project"
  unshipped="$(dirname "$project")/PublicAPI.Unshipped.txt"
  printf '#nullable enable\n' > "$unshipped"
  dotnet format analyzers "$project" --diagnostics RS0016 --severity info -v quiet
  # The code fix appends in the order it meets the symbols; keep the file sorted so merges stay clean.
  { grep '^#' "$unshipped" || true; grep -v '^#' "$unshipped" | grep -v '^$' | LC_ALL=C sort -u || true; } > "$unshipped.tmp"
  mv "$unshipped.tmp" "$unshipped"
done
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt'
