#!/usr/bin/env bash
# `make report`: one self-contained HTML file from reports/allure-results, built by Allure 3
# (npm package `allure`, runs on Node; no Java). Installs the pinned Allure from
# report/package-lock.json into report/node_modules on first use.
#
#   scripts/report.sh [RESULTS_DIR] [OUTPUT_HTML]
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-reports/allure-results}
out=${2:-reports/template-delivery-e2e.html}

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "report: needs Node >= 20 on PATH (Debian: apt-get install nodejs; CI: actions/setup-node)" >&2
  exit 1
fi
if [ ! -x report/node_modules/.bin/allure ] \
   || [ report/package-lock.json -nt report/node_modules/.package-lock.json ]; then
  echo "report: installing Allure 3 (npm ci in report/)" >&2
  npm ci --prefix report --no-audit --no-fund --loglevel=error >&2
fi
if ! compgen -G "$results/*-result.json" >/dev/null; then
  echo "report: no test results in $results (run make e2e first)" >&2
  exit 1
fi

# the report title names target and run, read from the environment block the suite wrote
prop() { sed -n "s/^$1=//p" "$results/environment.properties" 2>/dev/null | head -n1; }
name="template-delivery E2E"
target=$(prop target) run_id=$(prop run_id)
[ -n "$target" ] && name="$name · $target"
[ -n "$run_id" ] && name="$name · run $run_id"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
REPORT_NAME="$name" report/node_modules/.bin/allure generate "$results" \
  --config report/allurerc.mjs --output "$work/html" >"$work/log" 2>&1 \
  || { cat "$work/log" >&2; exit 1; }
if [ ! -s "$work/html/index.html" ]; then
  cat "$work/log" >&2
  echo "report: Allure wrote no index.html" >&2
  exit 1
fi
# keep the page self-contained: no analytics, no external resource (scripts/report.mjs)
mkdir -p "$(dirname "$out")"
node scripts/report.mjs "$work/html/index.html" "$out"
echo "report: $out ($(du -h "$out" | cut -f1), $(compgen -G "$results/*-result.json" | wc -l) results)"
