#!/usr/bin/env bash
# Builds and runs one libFuzzer harness over a parser of untrusted files.
#
#   scripts/fuzz.sh TARGET SECONDS [CORPUS_DIR]      TARGET: tiff | pth | safetensors | truth | control
#
# The harnesses are Tests/Fuzz/<Product>/<Product>.swift, built only when UNET_FUZZ is set (see the end of
# Package.swift), with -sanitize=fuzzer,address into the scratch path .build-fuzz (never .build); a
# Tests/Fuzz/<Product>/<Product>.dict beside one is passed as libFuzzer's -dict.
# The corpus (default .build-fuzz/corpus/TARGET) is seeded from the committed fixtures, and from
# Tests/Fixtures/fuzz/TARGET (the regression inputs), on every run. Crash, leak, timeout and OOM inputs
# land in .build-fuzz/crashes/TARGET/ (not .build-fuzz/artifacts: SwiftPM empties that folder).
# Exits with libFuzzer's status: non-zero on a crash, a leak, a timeout or running out of memory.
# Build and run are niced (nice -n 19).
#
# Environment: FUZZ_ARGS    extra libFuzzer flags, e.g. "-runs=1000000" (whichever of it and SECONDS ends first)
#              SWIFT        swift driver (default: swift on PATH, else /opt/swift/usr/bin/swift)
#              FUZZ_NO_BUILD=1   run the harness as last built
#
# Adding a target: one line in the case below, the harness file, and its entry at the end of Package.swift.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() { echo "usage: $0 tiff|pth|safetensors|truth|control SECONDS [CORPUS_DIR]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
target=$1 seconds=$2
[[ $seconds =~ ^[0-9]+$ ]] || usage
corpus=${3:-.build-fuzz/corpus/$target}
scratch=.build-fuzz
artifacts=$scratch/crashes/$target
mkdir -p "$corpus" "$artifacts"

# Copies files into the corpus under their content hash (re-seeding adds no duplicates).
seed_files() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$corpus/seed-$(sha1sum < "$f" | cut -c1-16)"
    done
}

# Moves $corpus/.seed into the corpus under its content hash.
store_seed() { mv "$corpus/.seed" "$corpus/seed-$(sha1sum < "$corpus/.seed" | cut -c1-16)"; }

# pth and safetensors: the files as they are (small ones fit whole; big ones are cut at max_len and
# exercise the truncation paths), plus width-1 U-Nets made here, whole files of a few dozen KiB: for pth
# written the way torch.save writes them (no torch needed: the pickle names torch's globals through
# stand-in modules), stored and deflated, and every data.pkl in the harness's wrapped form
# ([UInt16 LE length][data.pkl][bytes to fill storages]); for safetensors with model metadata and
# optimizer tensors as a training checkpoint has them.
seed_models() {
    local kind=$1; shift
    seed_files "$@"
    command -v python3 >/dev/null || { echo "fuzz.sh: no python3, $kind seeds are the fixtures only" >&2; return; }
    python3 - "$kind" "$corpus" "$@" <<'PY'
import collections, hashlib, io, json, pickle, random, struct, sys, types, zipfile
kind, corpus, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
def store(unit):
    open(f"{corpus}/seed-{hashlib.sha1(unit).hexdigest()[:16]}", "wb").write(unit)

sys.path.insert(0, "scripts")
from random_unet import safetensors, shapes

rng = random.Random(0)
def model(transposed, classes, bias):
    """(name, shape, little-endian float32 bytes) of a width-1 model with plausible values."""
    for name, shape in shapes(1, transposed, classes, bias):
        count = 1
        for d in shape: count *= d
        values = [1.0 + rng.random() if name.endswith("running_var") else rng.uniform(-0.5, 0.5) for _ in range(count)]
        yield name, shape, struct.pack(f"<{count}f", *values)

variants = ((False, 1, False), (True, 2, True))

if kind == "safetensors":
    for transposed, classes, bias in variants:
        tensors = list(model(transposed, classes, bias))
        if transposed:  # a training checkpoint: Adam's moments beside the weights
            tensors += [(f"optimizer.m.{name}", shape, bytes(len(blob))) for name, shape, blob in tensors[:3]]
        architecture = {"input_channels": 3, "width": 1, "upsampling": "transposed" if transposed else "bilinear",
                        "classes": classes, "conv_bias": bias}
        metadata = {"format": "unetd-model/1", "unet": json.dumps({"architecture": architecture})}
        store(safetensors(tensors, metadata))
    sys.exit(0)

torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
class FloatStorage: pass
def _rebuild_tensor_v2(*args): pass
FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils
sys.modules.update({"torch": torch, "torch._utils": utils})
class Storage:
    def __init__(self, key, count): self.key, self.count = key, count
class Tensor:
    def __init__(self, storage, shape): self.storage, self.shape = storage, shape
    def __reduce__(self):
        strides, step = [], 1
        for d in reversed(self.shape): strides.insert(0, step); step *= d
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(strides), False, collections.OrderedDict()))
class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", FloatStorage, obj.key, "cpu", obj.count) if isinstance(obj, Storage) else None

for (transposed, classes, bias), wrap in zip(variants, (False, True)):
    state, blobs = collections.OrderedDict(), []
    for name, shape, blob in model(transposed, classes, bias):
        state[("module." if wrap else "") + name] = Tensor(Storage(str(len(blobs)), len(blob) // 4), shape)
        blobs.append(blob)
    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump({"epoch": 3, "model_state_dict": state, "loss": 0.25} if wrap else state)
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):  # torch.save stores; a re-zipped one deflates
        raw = io.BytesIO()
        with zipfile.ZipFile(raw, "w", compression) as z:
            z.writestr("archive/data.pkl", buffer.getvalue())
            z.writestr("archive/byteorder", "little")
            for key, blob in enumerate(blobs): z.writestr(f"archive/data/{key}", blob)
            z.writestr("archive/version", "3\n")
        store(raw.getvalue())
    store(struct.pack("<H", len(buffer.getvalue())) + buffer.getvalue() + b"".join(blobs)[:4096])

for path in paths:
    try:
        z = zipfile.ZipFile(path)
    except Exception:
        continue
    names = z.namelist()
    pkl = next((n for n in names if n.endswith("data.pkl")), None)
    if pkl is None or z.getinfo(pkl).file_size > 0xFFFF:
        continue
    prefix = pkl[: -len("data.pkl")]
    fill = z.read(prefix + "data/0")[: 4 << 10] if prefix + "data/0" in names else b""
    pickle_bytes = z.read(pkl)
    store(struct.pack("<H", len(pickle_bytes)) + pickle_bytes + fill)
PY
}

# truth: byte 0 even + BreCaHAD JSON, byte 0 odd + NAME.truth.png. There are no committed mask fixtures,
# so a few 64×48 masks (the harness's slide size) are made here.
seed_truth() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        case $f in
            *.png) { printf '\x01'; cat "$f"; } > "$corpus/.seed" ;;
            *)     { printf '\x00'; cat "$f"; } > "$corpus/.seed" ;;
        esac
        store_seed
    done
    command -v python3 >/dev/null || { echo "fuzz.sh: no python3, no PNG mask seeds" >&2; return; }
    python3 - "$corpus" <<'PY'
import hashlib, struct, sys, zlib
corpus = sys.argv[1]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
def png(width, height, color, depth, rows, extra=b""):
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows))) + chunk(b"IEND", b""))
w, h = 64, 48
units = [
    png(w, h, 0, 8, [bytes((255 if (x - 32) ** 2 + (y - 24) ** 2 < 100 else 0) for x in range(w)) for y in range(h)]),
    png(w, h, 2, 8, [bytes(v for x in range(w) for v in (x * 4, y * 5, 0)) for y in range(h)]),
    png(w, h, 3, 8, [bytes(x % 2 for x in range(w)) for y in range(h)], chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")),
    png(w, h, 0, 1, [bytes([0xAA] * (w // 8)) for y in range(h)]),
    png(w, h, 4, 16, [bytes([y, 0, 255, 255] * w) for y in range(h)]),
    png(8, 8, 0, 8, [bytes(8)] * 8),
]
for body in units:
    unit = b"\x01" + body
    open(f"{corpus}/seed-{hashlib.sha1(unit).hexdigest()[:16]}", "wb").write(unit)
PY
}

# TARGET) product max_len seeding-command fixtures... ;;
case $target in
    tiff)        product=FuzzTIFF        max_len=65536   seed=seed_files    fixtures=(Tests/Fixtures/tiff/*.tif* Tests/Fixtures/tiff_bad/* Tests/Fixtures/slides/*.tif) ;;
    pth)         product=FuzzPTH         max_len=65536   seed="seed_models pth" fixtures=(Tests/Fixtures/engine/*.pth Tests/Fixtures/engine/bad/*.pth) ;;
    safetensors) product=FuzzSafeTensors max_len=65536   seed="seed_models safetensors" fixtures=(Tests/Fixtures/engine/*.safetensors Tests/Fixtures/engine/bad/*.safetensors Tests/Fixtures/training/*.safetensors Sources/DefaultModel/Resources/default-model.safetensors) ;;
    # control: LeakSanitizer's per-input check costs ~35 ms here (the async runtime and the thread pools
    # allocate across inputs, so every unit triggers a full scan): 27 executions/s against 2,800. Leaks are
    # checked by default; FUZZ_ARGS=-detect_leaks=0 is how the long runs in BENCHMARKS.md were made.
    control)     product=FuzzControl     max_len=4096    seed=seed_files     fixtures=() ;;  # seeds: Tests/Fixtures/fuzz/control
    truth)       product=FuzzTruth       max_len=65536   seed=seed_truth    fixtures=(Tests/Fixtures/brecahad_mini/groundTruth/*.json Tests/Fixtures/slides/*.json $(find Tests/Fixtures -name '*.truth.png' | sort)) ;;
    *) usage ;;
esac
# Regression inputs are already in the harness's format.
$seed "${fixtures[@]}"
seed_files Tests/Fixtures/fuzz/"$target"/*

SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
# Debug configuration plus -O: optimised, but without the release configuration's -Ounchecked, so an
# overflow or precondition on malformed input traps (and is reported) as it would in checked code.
# SwiftPM's own --sanitize fuzzer (rather than -Xswiftc only) links libFuzzer's main instead of renaming
# the harness's entry point; swiftc keeps only the last -sanitize= it is given, so fuzzer and address
# go again, together, through -Xswiftc (and address to the C shims through -Xcc). -parse-as-library:
# a harness has no top-level code.
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    UNET_FUZZ=1 nice -n 19 "$SWIFT" build --scratch-path "$scratch" -c debug --product "$product" --sanitize fuzzer \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address -Xswiftc -parse-as-library -Xswiftc -O
fi
binary=$(UNET_FUZZ=1 "$SWIFT" build --scratch-path "$scratch" -c debug --show-bin-path)/$product
[ -x "$binary" ] || { echo "fuzz.sh: $binary was not built" >&2; exit 1; }

mkdir -p "$artifacts"
dictionary=Tests/Fuzz/$product/$product.dict
[ -f "$dictionary" ] && FUZZ_ARGS="-dict=$dictionary ${FUZZ_ARGS:-}"
log=$scratch/fuzz-$target.log
echo "fuzz $target: $binary, corpus $corpus ($(ls "$corpus" | wc -l) inputs), $seconds s ${FUZZ_ARGS:-}"
set +e
# The Swift runtime's own crash handler (backtracer) would read the crashed process's memory under ASan
# and report that instead of the real trap; libFuzzer prints the stack itself.
# shellcheck disable=SC2086
# Tests/Fuzz/lsan.supp names the few leaks verified to be outside the project (see there).
SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$root/Tests/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    nice -n 19 "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len="$max_len" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
echo "fuzz $target: ${runs:-0} executions, exit $status"
exit "$status"
