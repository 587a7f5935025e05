#!/usr/bin/env python3
"""Where the time goes, layer by layer, on two CPU paths: `unet bench --layers` run for each
UNET_CPU value in turn, --rounds times interleaved, keeping each layer's fastest round (the VM's
neighbours steal time in bursts; interleaving and the minimum keep that out of the comparison).
Prints a Markdown table for BENCHMARKS.md.

    python3 scripts/layer_table.py --model M.pth [--tile 256] [--paths generic,avx2] [--rounds 5] [--runs 7]
                                   [--precision fp32|bf16|auto]
                                   [--baseline OLD/unet]   (another build, on its detected path: before/after)
"""
import argparse
import json
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def profile(unet, model, tile, runs, path, precision):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_") and k != "UNET_CPU"}
    if path:
        env["UNET_CPU"] = path
    out = subprocess.run([unet, "bench", "--model", model, "--tile", str(tile), "--runs", str(runs), "--precision", precision,
                          "--layers", "--json"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--paths", default="generic,avx2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--unet", default=os.path.join(REPO, ".build", "release", "unet"))
    ap.add_argument("--baseline", help="another unet binary, run on its detected path as the first column")
    args = ap.parse_args()
    # A column: its label, the binary and the UNET_CPU value ("" for the detected path).
    columns = ([("baseline", args.baseline, "")] if args.baseline else []) + [(p, args.unet, p) for p in args.paths.split(",")]
    paths = [label for label, _, _ in columns]
    best, kernels, shapes, flops = {p: {} for p in paths}, {p: {} for p in paths}, {}, {}
    order = []
    for _ in range(args.rounds):
        for path, unet, cpu in columns:
            result = profile(unet, args.model, args.tile, args.runs, cpu, args.precision)
            for layer in result["layers"]:
                name = layer["layer"]
                if name not in shapes:
                    order.append(name)
                    shapes[name] = f'{layer["input_channels"]}→{layer["output_channels"]} | {layer["height"]}×{layer["width"]}'
                    flops[name] = layer["gflops"] * layer["seconds"]
                kernels[path][name] = layer["kernel"] or "—"
                best[path][name] = min(best[path].get(name, float("inf")), layer["seconds"])
    header = " | ".join(f"{p} kernel | {p} ms" for p in paths)
    print(f"| layer | in→out | size | {header} | GFLOP/s ({', '.join(paths)}) |")
    print("|" + "---|" * (3 + 2 * len(paths) + 1))
    for name in order:
        cells = " | ".join(f"{kernels[p][name]} | {best[p][name] * 1e3:.2f}" for p in paths)
        rates = ", ".join(f"{flops[name] / best[p][name]:.0f}" for p in paths) if flops[name] else ""
        print(f"| {name} | {shapes[name]} | {cells} | {rates} |")
    totals = " | ".join(f" | **{sum(best[p].values()) * 1e3:.1f}**" for p in paths)
    print(f"| total | | {totals} | |")


if __name__ == "__main__":
    main()
