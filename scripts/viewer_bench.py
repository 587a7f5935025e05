#!/usr/bin/env python3
"""The web viewer's tile time and the daemon's memory on a scanner-size slide (issue 31).

    python3 scripts/make_large_slide.py /big/slide.tif 100000 80000 --pyramid
    python3 scripts/viewer_bench.py /big/slide.tif [--tiles 60] [--bin .build/release]

Starts unetd (release build, default model) on a scratch root, lets it process a small slide named
`big.tif`, then puts SLIDE in that archived original's place (a hard link), so the viewer serves the big
slide through the real route: GET /tiles/big/slide_files/LEVEL/X_Y.png on the Unix socket, one request
per connection. For the full-resolution level and every coarser level the viewer can show, times
--tiles random 256² tiles (each a new one: no cache helps) and reports median, 95th percentile and
largest; then the daemon's peak RSS (VmHWM) against its RSS before the first tile.
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get(sock_path, path):
    """(seconds, status, body) of one GET over the Unix socket."""
    start = time.perf_counter()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: unetd\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
    elapsed = time.perf_counter() - start
    head, _, body = data.partition(b"\r\n\r\n")
    return elapsed, int(head.split(b" ", 2)[1]), body


def memory_mib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slide")
    ap.add_argument("--tiles", type=int, default=60)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="unetd-viewer-", dir=os.path.dirname(os.path.abspath(args.slide)))
    root = os.path.join(work, "root")
    daemon = subprocess.Popen([os.path.join(args.bin, "unetd"), "--root", root, "--quiet-period", "0"], stderr=subprocess.DEVNULL)
    sock = os.path.join(root, "unetd.sock")
    try:
        while subprocess.run([os.path.join(args.bin, "unetctl"), "--socket", sock, "status"], capture_output=True).returncode:
            time.sleep(0.2)
        shutil.copy(os.path.join(REPO, "Tests", "Fixtures", "slides", "histo_he.tif"), os.path.join(root, "inbox", "big.tif"))
        archived = os.path.join(root, "archive", "big.tif")
        while not os.path.exists(archived):
            time.sleep(0.2)
        os.link(args.slide, archived + ".link")
        os.replace(archived + ".link", archived)

        rss_before = memory_mib(daemon.pid, "VmRSS")
        opened, status, body = get(sock, "/tiles/big/slide.dzi")
        assert status == 200, body
        width, height = (int(re.search(rf'{k}="(\d+)"', body.decode()).group(1)) for k in ("Width", "Height"))
        tile = int(re.search(r'TileSize="(\d+)"', body.decode()).group(1))
        max_level = (max(width, height) - 1).bit_length()  # Deep Zoom: ceil(log2 of the longer side)
        levels = []
        for level in range(max_level, -1, -1):
            scale = 2 ** (max_level - level)
            columns, rows = -(-width // scale // tile) or 1, -(-height // scale // tile) or 1
            picks = {(rng.randrange(columns), rng.randrange(rows)) for _ in range(args.tiles * 2)}
            picks = list(picks)[: args.tiles]
            times, statuses = [], []
            for column, row in picks:
                seconds, status, _ = get(sock, f"/tiles/big/slide_files/{level}/{column}_{row}.png")
                statuses.append(status)
                if status == 200:
                    times.append(seconds)
            if not times:  # below the coarsest level the viewer can show from this file
                break
            times.sort()
            levels.append({"level": level, "downsample": scale, "tiles": len(times), "not_served": len(statuses) - len(times),
                           "median_ms": round(1000 * statistics.median(times), 1),
                           "p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(1000 * times[-1], 1)})
            if columns * rows == 1:
                break
        result = {"slide": f"{width}x{height}", "file_mb": round(os.path.getsize(args.slide) / 1e6), "tile": tile,
                  "descriptor_ms": round(1000 * opened, 1), "levels": levels,
                  "rss_mib_before": round(rss_before), "peak_rss_mib": round(memory_mib(daemon.pid, "VmHWM")),
                  "rss_mib_after": round(memory_mib(daemon.pid, "VmRSS"))}
        print(json.dumps(result, indent=2))
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
