#!/usr/bin/env bash
# The README's run command: unetd in the foreground on a local root with the embedded default model;
# a bundled real H&E slide (and its BreCaHAD-style ground truth) is dropped into the inbox once the
# daemon is ready; unetctl status and the outputs are shown; on a terminal the web page is then served
# (unetctl web, port 8750 or any free one) until Ctrl-C; then the daemon is stopped (SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
ROOT=${ROOT:-demo}
rm -rf "$ROOT"
mkdir -p "$ROOT"
# The sample's file declares no scale. Its nuclei are 40-50 px across (10-12 um), about 0.25 um/px, so the
# demo says so, as a lab would for a scanner that writes none; unetd then resamples it to the model's 0.5.
printf 'slide_mpp = 0.25\n' > "$ROOT/unetd.toml"
"$BIN/unetd" --root "$ROOT" --config "$ROOT/unetd.toml" --quiet-period 0.5 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$BIN/unetctl" --socket "$ROOT/unetd.sock" status >/dev/null 2>&1 && break; sleep 0.2; done
cp Tests/Fixtures/slides/tia_he.json "$ROOT/inbox/sample.json"
cp Tests/Fixtures/slides/tia_he.tif "$ROOT/inbox/sample.tif"
for _ in $(seq 600); do [ -f "$ROOT/archive/sample.tif" ] && break; sleep 0.2; done
echo
"$BIN/unetctl" --socket "$ROOT/unetd.sock" status
echo
"$BIN/unetctl" --socket "$ROOT/unetd.sock" jobs
echo
ls -l "$ROOT/outbox" "$ROOT/archive"
echo
tail -n 1 "$ROOT/logs/metrics.jsonl"
echo
# How many nuclei, and how they were separated and filtered (result.json's objects and object_filter).
echo "nuclei found: $(grep -m1 '"objects" :' "$ROOT/outbox/sample.result.json" | tr -dc '0-9')"
sed -n '/"object_filter"/,/}/p' "$ROOT/outbox/sample.result.json"
echo
web=("$BIN/unetctl" --socket "$ROOT/unetd.sock" web)
if [ -t 0 ] || [ "${DEMO_WAIT:-0}" = 1 ]; then
    echo "The web page: open the address below in a browser; the sample's result over the slide is at its"
    echo "/slides/sample. From another machine: ssh -L 8750:127.0.0.1:8750 $(hostname), then the same address."
    echo "Ctrl-C stops the page and the daemon."
    status=0
    "${web[@]}" --port 8750 || status=$?
    # Port 8750 taken (an error, not Ctrl-C's 130): any free port.
    if [ "$status" -ne 0 ] && [ "$status" -lt 128 ]; then "${web[@]}" --port 0; fi
else
    echo "The web page: while unetd runs, ${web[*]} prints its address (the sample at /slides/sample)."
fi

