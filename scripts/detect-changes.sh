#!/usr/bin/env bash
# Does a change need the e2e job? Reads changed paths (one per line) on stdin and prints
# `heavy=true` unless every path is documentation (docs/**, top-level *.md, any README.md outside
# fixtures/). An empty list (unknown diff) counts as heavy:
# when in doubt, run the tests.
#
#   git diff --name-only BASE...HEAD | scripts/detect-changes.sh >> "$GITHUB_OUTPUT"
set -euo pipefail
docs_only() {
  case "$1" in
    fixtures/*) return 1 ;;  # template and plugin bytes (prompts/*.md, CLAUDE.md) are product data
    docs/*|*/README.md|LICENSE|LICENSE.*) return 0 ;;
    */*) return 1 ;;
    *.md) return 0 ;;  # top-level markdown (README.md, CHANGELOG.md, ...)
    *) return 1 ;;
  esac
}
count=0 heavy=false
while IFS= read -r path; do
  [ -z "$path" ] && continue
  count=$((count + 1))
  if ! docs_only "$path"; then
    heavy=true
    echo "detect-changes: needs e2e: $path" >&2
  fi
done
if [ "$count" -eq 0 ]; then
  heavy=true
  echo "detect-changes: no changed paths seen; running e2e to be safe" >&2
fi
echo "detect-changes: $count changed path(s), heavy=$heavy" >&2
echo "heavy=$heavy"
