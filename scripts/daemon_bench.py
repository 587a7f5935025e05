#!/usr/bin/env python3
"""Daemon overhead, control latency and idle CPU (issue 5's speed targets), on the release build.

    python3 scripts/daemon_bench.py [--model M] [--repeat 3]

1. `unet segment` wall time for a 2000x2000 H&E slide vs the same slide through `unetd` (drop → archived,
   quiet period 0, model already loaded), median of --repeat runs each.
2. `unetctl status` round-trip times while that slide is being processed.
3. CPU time an idle unetd uses over 10 seconds (utime + stime from /proc).
"""
import argparse
import json
import os
import socket
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, ".build", "release")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_round_trip(sock_path):
    """One GET /v1/status over the Unix socket; returns (seconds, decoded JSON)."""
    start = time.perf_counter()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: unetd\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    elapsed = time.perf_counter() - start
    body = data.split(b"\r\n\r\n", 1)[1]
    return elapsed, json.loads(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="unetd-bench-")
    slide = os.path.join(work, "field.tif")
    tia = np.asarray(Image.open(os.path.join(REPO, "Tests", "Fixtures", "slides", "tia_he.tif")).convert("RGB"))
    Image.fromarray(np.tile(tia, (2, 2, 1))).save(slide, compression="jpeg", quality=90)
    model = ["--model", args.model] if args.model else []

    cli = []
    for i in range(args.repeat):
        out = os.path.join(work, f"cli{i}")
        start = time.perf_counter()
        subprocess.run([os.path.join(BIN, "unet"), "segment", *model, "--out", out, slide], check=True, capture_output=True)
        cli.append(time.perf_counter() - start)

    root = os.path.join(work, "root")
    daemon = subprocess.Popen([os.path.join(BIN, "unetd"), "--root", root, "--quiet-period", "0", *model],
                              stderr=subprocess.DEVNULL)
    sock = os.path.join(root, "unetd.sock")
    ctl = [os.path.join(BIN, "unetctl"), "--socket", sock]
    while subprocess.run(ctl + ["status"], capture_output=True).returncode != 0:
        time.sleep(0.1)
    time.sleep(2)
    idle_start = cpu_seconds(daemon.pid)
    time.sleep(10)
    idle_cpu = cpu_seconds(daemon.pid) - idle_start

    via_daemon, latencies, spawned = [], [], []
    for i in range(args.repeat * 2):
        name = f"d{i}.tif"
        # A copy with one different byte at the end, so the content hash does not mark it a duplicate.
        staged = os.path.join(work, name)
        shutil.copy(slide, staged)
        with open(staged, "ab") as f:
            f.write(bytes([i]))
        measuring_latency = i >= args.repeat  # first runs: overhead alone; later runs: status while busy
        start = time.perf_counter()
        os.rename(staged, os.path.join(root, "inbox", name))
        while not os.path.exists(os.path.join(root, "archive", name)):
            if measuring_latency:
                elapsed, status = status_round_trip(sock)
                if status.get("slides"):
                    latencies.append(elapsed)
                    t0 = time.perf_counter()
                    subprocess.run(ctl + ["status"], capture_output=True)
                    spawned.append(time.perf_counter() - t0)
                time.sleep(0.1)
            else:
                time.sleep(0.01)
        if not measuring_latency:
            via_daemon.append(time.perf_counter() - start)
    daemon.terminate()
    daemon.wait(timeout=30)
    shutil.rmtree(work)
    result = {
        "unet_segment_seconds": statistics.median(cli), "unetd_seconds": statistics.median(via_daemon),
        "daemon_over_segment": statistics.median(via_daemon) / statistics.median(cli) - 1,
        "status_ms_median": 1000 * statistics.median(latencies) if latencies else None,
        "status_ms_max": 1000 * max(latencies) if latencies else None, "status_samples": len(latencies),
        "unetctl_status_ms_median": 1000 * statistics.median(spawned) if spawned else None,
        "unetctl_status_ms_max": 1000 * max(spawned) if spawned else None,
        "idle_cpu_seconds_per_10s": idle_cpu,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
