#!/usr/bin/env bash
# Echo the gate's outputs and, when the test gave a directory, keep them and the audit
# record there ($RUNNER_TEMP, where the report lies, is removed with the job).
set -euo pipefail
echo "decision=$DECISION state=$STATE report=$REPORT"
if [ -n "${SOPGATE_E2E_OUT:-}" ]; then
  out="$SOPGATE_E2E_OUT/$GITHUB_JOB"
  mkdir -p "$out"
  printf 'decision=%s\nstate=%s\nreport=%s\npython3=%s\n' \
    "$DECISION" "$STATE" "$REPORT" "$(command -v python3)" > "$out/outputs.txt"
  if [ -f "$REPORT" ]; then cp "$REPORT" "$out/sopgate-report.json"; fi
fi
