#!/usr/bin/env python3
"""End to end against the engine alone: `unet segment` on one slide and `unet bench` at the same tile,
threads and precision, measured in interleaved rounds (so a burst of stolen time on a shared VM hurts
both alike), with nothing set in the environment (no OPENBLAS_*, no UNET_CPU), as systemd runs unetd.

    scripts/end_to_end_bench.py --model W16.pth --slide FIELD.tif [--tile 512] [--rounds 5]
        [--copies 1] [--outputs mask,overlay] [--unet .build/release/unet] [--unet OTHER/unet ...]

End-to-end rate = inferred tile pixels (tiles run × tile area, as bench counts them) / the slide's
total seconds in NAME.result.json. Each round runs bench, then segment, then bench again, and the
round's engine rate is the mean of the two benches, so a slow or fast spell of a shared VM that
starts or ends during the round weighs on both sides alike. Per binary it prints the best round of
each (the machine's capability, as peer_bench.py --statistic min), the per-round ratios sorted and
their median, plus the median seconds of each stage.

With `--copies N` (N ≥ 2) one `unet segment` process gets N copies of the slide, as a Slurm shard or
the daemon gets slide after slide, and a round's rate is the mean over copies 2..N: the steady state,
with the process's first-slide costs (the engine's workspace paged in, OpenBLAS's idle threads
spinning down) left out, as bench leaves them out with its warm-up runs. N = 1 measures the single
cold slide.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile


def clean_environment():
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_") and k != "UNET_CPU"}


def bench(unet, args):
    out = subprocess.run([unet, "bench", "--model", args.model, "--tile", str(args.tile), "--threads", str(args.threads),
                          "--precision", args.precision, "--runs", str(args.runs), "--json"],
                         check=True, capture_output=True, text=True, env=clean_environment()).stdout
    return json.loads(out)["megapixels_per_second"]


def segment(unet, args, slides, directory):
    """Segments `slides` in one process; returns the mean rate and the mean stage seconds over the
    copies after the first (or of the only one)."""
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    subprocess.run([unet, "segment", "--model", args.model, "--tile", str(args.tile), "--threads", str(args.threads),
                    "--precision", args.precision, "--outputs", args.outputs, "--out", directory] + slides,
                   check=True, capture_output=True, text=True, env=clean_environment())
    rates, timings = [], []
    for slide in slides[1:] if len(slides) > 1 else slides:
        name = os.path.splitext(os.path.basename(slide))[0]
        with open(os.path.join(directory, name + ".result.json")) as f:
            result = json.load(f)
        tile_pixels = result["tiles_run"] * result["tile_width"] * result["tile_height"]
        rates.append(tile_pixels / 1e6 / result["timings"]["total"])
        timings.append(result["timings"])
    return statistics.mean(rates), {stage: statistics.mean(t[stage] for t in timings) for stage in timings[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--slide", required=True)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--outputs", default="mask,overlay")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--copies", type=int, default=1, help="copies of the slide per segment process (see above)")
    ap.add_argument("--runs", type=int, default=7, help="bench runs per round (median)")
    ap.add_argument("--unet", action="append", help="binary to measure (repeat to compare builds)")
    args = ap.parse_args()
    binaries = args.unet or [".build/release/unet"]

    rounds = {unet: [] for unet in binaries}
    with tempfile.TemporaryDirectory(prefix="e2e_bench_") as work:
        stem, extension = os.path.splitext(os.path.basename(args.slide))
        slides = [os.path.join(work, f"{stem}-{copy}{extension}") for copy in range(args.copies)]
        for slide in slides:
            shutil.copyfile(args.slide, slide)
        for round_index in range(args.rounds):
            for index, unet in enumerate(binaries):
                before = bench(unet, args)
                end_to_end, timings = segment(unet, args, slides, os.path.join(work, str(index)))
                engine = (before + bench(unet, args)) / 2
                rounds[unet].append((engine, end_to_end, timings))
                print(f"round {round_index + 1} {unet}: bench {engine:.3f} MP/s, end to end {end_to_end:.3f} MP/s "
                      f"({end_to_end / engine:.2f}×)", flush=True)

    print(f"\n{args.model}, {args.slide}, tile {args.tile}, {args.threads} threads, {args.precision}, "
          f"outputs {args.outputs}, {args.rounds} rounds, "
          + (f"{args.copies} copies per process (copies 2..{args.copies} counted)" if args.copies > 1 else "one cold slide per process"))
    print("| binary | bench best | end to end best | best / best | round ratios, sorted | median of round ratios | median stages (s) |")
    print("|---|---|---|---|---|---|---|")
    for unet, runs in rounds.items():
        best_engine = max(r[0] for r in runs)
        best_end_to_end = max(r[1] for r in runs)
        ratios = sorted(r[1] / r[0] for r in runs)
        ratio = statistics.median(ratios)
        stages = ", ".join(f"{stage} {statistics.median(r[2][stage] for r in runs):.2f}"
                           for stage in ["decode", "preprocess", "inference", "stitch", "encode", "total"])
        print(f"| {unet} | {best_engine:.3f} | {best_end_to_end:.3f} | {best_end_to_end / best_engine:.2f}× | "
              f"{' '.join(f'{r:.2f}' for r in ratios)} | {ratio:.2f}× | {stages} |")


if __name__ == "__main__":
    main()
