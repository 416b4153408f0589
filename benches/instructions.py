#!/usr/bin/env python3
"""Instructions and first-level data-cache misses of fixed firedrill runs, counted by
cachegrind: figures that do not move with the neighbours, where wall time on a shared
machine drifts by more than most changes do.

    apt-get install valgrind
    cargo build --release --no-default-features
    python3 benches/instructions.py [--firedrill PATH] [--baseline PATH] [--no-cache-sim]

With `--baseline`, each run is counted for both binaries and the change is printed: the way
to judge a change to the engine. The runs are the shop, the 10,000-instance fleet, an M/M/1
busy and idle (the idle one is a tick's fixed cost: divide by its 10,000 ticks), an M/M/64
(many requests in their own work at once) and the long shift with its scoring's what-if runs.
A second count of the same binary agrees to four digits or better (only the what-if runs,
on threads, vary at all).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mmc(servers, rate, seconds):
    # The M/M/c of benches/ciw_compare.py: 10 ms exponential service, nothing times out.
    return f"""(
    name: "mm{servers}",
    seed: 1,
    duration: {seconds},
    services: [(
        name: "server",
        workers: {servers},
        service_time: Exponential(mean: 0.01),
        cpu: (cores: 1000.0),
        health_check: (timeout: "1h"),
    )],
    traffic: [(to: "server", rate: {rate}, timeout: "1h")],
)
"""


def runs(folder):
    """(name, arguments of `firedrill run`) for each counted run."""
    busy = os.path.join(folder, "mm1.ron")
    idle = os.path.join(folder, "idle.ron")
    wide = os.path.join(folder, "mm64.ron")
    with open(busy, "w") as f:
        f.write(mmc(1, 80.0, 1000))
    with open(idle, "w") as f:
        f.write(mmc(1, 0.001, 1000))
    with open(wide, "w") as f:
        f.write(mmc(64, 5120.0, 20))
    return [
        ("shop.ron, 2 simulated minutes", ["scenarios/shop.ron", "--duration", "2m"]),
        ("big-fleet.ron, 10 simulated seconds", ["benches/big-fleet.ron", "--duration", "10s"]),
        ("M/M/1 at 80% load, 1,000 s", [busy]),
        ("M/M/1 idle, 1,000 s (10,000 ticks)", [idle]),
        ("M/M/64 at 80% load, 20 s", [wide]),
        ("long-shift.ron with its scoring", ["scenarios/long-shift.ron"]),
    ]


def count(binary, arguments, cache_sim):
    """(instructions, L1 data misses or None) of one run."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        f"--cache-sim={'yes' if cache_sim else 'no'}",
        "--cachegrind-out-file=/dev/null",
        binary,
        "run",
        *arguments,
        "--no-history",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    misses = re.search(r"D1\s+misses:\s+([\d,]+)", done.stderr)
    if refs is None:
        sys.exit(f"no instruction count in cachegrind's output:\n{done.stderr[-2000:]}")
    number = lambda m: int(m.group(1).replace(",", "")) if m else None
    return number(refs), number(misses)


def millions(n):
    return "—" if n is None else f"{n / 1e6:,.1f} M"


def change(before, after):
    if before is None or after is None or before == 0:
        return ""
    return f" ({(after - before) / before:+.1%})"


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "firedrill")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firedrill", default=default_binary(), help="the binary to count")
    parser.add_argument("--baseline", help="a binary to compare with")
    parser.add_argument(
        "--no-cache-sim", action="store_true", help="instructions only (about twice as fast)"
    )
    args = parser.parse_args()
    for binary in filter(None, [args.firedrill, args.baseline]):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary}: no such binary (cargo build --release --no-default-features)")
    cache_sim = not args.no_cache_sim
    with tempfile.TemporaryDirectory() as folder:
        print(f"firedrill: {args.firedrill}" + (f"  baseline: {args.baseline}" if args.baseline else ""))
        header = f"{'run':40} {'instructions':>30}"
        print(header + (f" {'L1 data misses':>28}" if cache_sim else ""))
        for name, arguments in runs(folder):
            now, now_misses = count(args.firedrill, arguments, cache_sim)
            if args.baseline:
                was, was_misses = count(args.baseline, arguments, cache_sim)
                instructions = f"{millions(was)} → {millions(now)}{change(was, now)}"
                misses = f"{millions(was_misses)} → {millions(now_misses)}{change(was_misses, now_misses)}"
            else:
                instructions, misses = millions(now), millions(now_misses)
            line = f"{name:40} {instructions:>30}"
            print(line + (f" {misses:>28}" if cache_sim else ""), flush=True)


if __name__ == "__main__":
    main()
