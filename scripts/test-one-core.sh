#!/usr/bin/env bash
# Runs the whole test suite N times in a row (default 5) pinned to one core, stopping at the first
# failure: timing assumptions that hold on an idle 2-core machine show up here as failures.
#   scripts/test-one-core.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
runs="${1:-5}"
swift build --build-tests
for run in $(seq 1 "$runs"); do
    echo "== run $run of $runs on CPU 0 =="
    if ! taskset -c 0 swift test --skip-build > ".build/one-core-run-$run.log" 2>&1; then
        grep -E "✘|error" ".build/one-core-run-$run.log" | head -40
        echo "run $run failed; whole log in .build/one-core-run-$run.log"
        exit 1
    fi
    grep -E "Test run with" ".build/one-core-run-$run.log"
done
echo "all $runs runs passed on one core"
