#!/usr/bin/env python3
"""Memory across hot reloads (issue 32): does a reload cost memory that is never given back?

    python3 scripts/reload_bench.py [--reloads 1000] [--width 64] [--bin .build/release] [--env K=V ...]

Starts unetd on a random width-W model, then asks it over the socket to reload, alternating a valid
copy of that model and one with a NaN weight (loaded whole, then refused), and reads the daemon's RSS
(/proc/PID/status VmRSS) after every answer. Prints RSS at 1, 50 and the end, the largest after 50, and
the end's change from 50; `--env` runs the daemon with extra environment (e.g. MALLOC_ARENA_MAX=1).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def reload(sock_path, model):
    """POST /v1/reload with {"model": model}; returns whether unetd accepted it."""
    body = json.dumps({"model": model}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(b"POST /v1/reload HTTP/1.1\r\nHost: unetd\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b" ", 2)[1] == b"200"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reloads", type=int, default=1000)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release"))
    ap.add_argument("--env", action="append", default=[])
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="unetd-reload-")
    good, bad = os.path.join(work, "good.safetensors"), os.path.join(work, "nan.safetensors")
    for path, extra in ((good, []), (bad, ["--nan"])):
        subprocess.run([sys.executable, os.path.join(REPO, "scripts", "random_unet.py"), "--width", str(args.width), path, *extra],
                       check=True)
    root = os.path.join(work, "root")
    env = dict(os.environ, **dict(item.split("=", 1) for item in args.env))
    daemon = subprocess.Popen([os.path.join(args.bin, "unetd"), "--root", root, "--model", good, "--threads", "2"],
                              stderr=subprocess.DEVNULL, env=env)
    sock = os.path.join(root, "unetd.sock")
    try:
        while not os.path.exists(sock):
            if daemon.poll() is not None:
                raise SystemExit("unetd exited before its socket appeared")
            time.sleep(0.1)
        time.sleep(0.5)
        start_rss, samples, refused, started = rss_mib(daemon.pid), [], 0, time.perf_counter()
        for i in range(args.reloads):
            accepted = reload(sock, good if i % 2 == 0 else bad)
            if accepted != (i % 2 == 0):
                raise SystemExit(f"reload {i + 1}: unexpected answer (accepted={accepted})")
            refused += not accepted
            samples.append(rss_mib(daemon.pid))
        seconds = time.perf_counter() - started
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        shutil.rmtree(work)
    at50 = samples[min(49, len(samples) - 1)]
    after50 = samples[50:] or [at50]
    print(json.dumps({
        "width": args.width, "reloads": len(samples), "refused": refused, "env": args.env,
        "seconds_per_reload": round(seconds / len(samples), 3),
        "rss_mib_before": round(start_rss, 1), "rss_mib_after_1": round(samples[0], 1), "rss_mib_after_50": round(at50, 1),
        "rss_mib_max_after_50": round(max(after50), 1), "rss_mib_end": round(samples[-1], 1),
        "end_vs_50_percent": round(100 * (samples[-1] / at50 - 1), 2),
        "max_after_50_vs_50_percent": round(100 * (max(after50) / at50 - 1), 2),
        "rss_mib_every_50": [round(samples[k], 1) for k in range(49, len(samples), 50)],
    }, indent=2))


if __name__ == "__main__":
    main()
