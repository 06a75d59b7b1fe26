#!/usr/bin/env bash
# The required check's verdict, from the results of the jobs it waits for.
#
#   scripts/aggregate-result.sh <detector-result> <heavy> <e2e-result>
#
# detector-result, e2e-result: needs.<job>.result (success | failure | cancelled | skipped)
# heavy: the detector's output (true: the change needs the e2e job; false: docs only)
#
# Passes when the e2e job passed, or when the detector ran, said "docs only", and e2e was skipped
# for that reason. Everything else fails: an e2e failure or cancellation, a failed detector (e2e is
# then skipped for the wrong reason), and an e2e job skipped although the detector asked for it.
# The job running this is `if: always()`, so the required check always reports (a workflow
# skipped by a paths filter never reports and blocks the merge forever).
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 <detector-result> <heavy: true|false> <e2e-result>" >&2
  exit 2
fi
detector=$1 heavy=$2 e2e=$3
verdict() { echo "template-delivery-e2e: $1 (detector=$detector heavy=$heavy e2e=$e2e)"; }

if [ "$detector" != "success" ]; then
  verdict "FAIL: the change detector did not succeed, so nothing decided whether e2e may be skipped"
  exit 1
fi
case "$e2e" in
  success)
    verdict "PASS: the e2e job passed"
    exit 0 ;;
  skipped)
    if [ "$heavy" = "false" ]; then
      verdict "PASS: docs-only change, the e2e job was skipped by the detector"
      exit 0
    fi
    verdict "FAIL: the e2e job was skipped although the change needs it"
    exit 1 ;;
  failure|cancelled)
    verdict "FAIL: the e2e job ended with '$e2e'"
    exit 1 ;;
  *)
    verdict "FAIL: unknown e2e result '$e2e'"
    exit 1 ;;
esac
