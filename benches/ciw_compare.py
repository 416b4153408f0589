#!/usr/bin/env python3
"""firedrill against Ciw (https://ciw.readthedocs.io), the discrete-event queueing library,
on the same M/M/c systems for the same simulated time: wall time, paired runs.

    pip install ciw
    cargo build --profile headless --no-default-features   # or --release
    python3 benches/ciw_compare.py [--firedrill PATH] [--pairs 5] [--customers 100000]

The firedrill binary is the `headless` build if there is one, else the `--release` one.

Each system has exponential service with a 10 ms mean and Poisson arrivals at 80% load, run
for as long as `--customers` arrivals take. firedrill's time is the whole `firedrill run`
process (start, load, simulate, report); Ciw's is its `simulate_until_max_time` alone, so
the comparison favours Ciw. Pairs alternate which runs first. Both mean responses are printed
beside Erlang C's, so a fast wrong answer would show.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import ciw

MEAN_SERVICE_S = 0.01
LOAD = 0.8
SERVERS = [1, 8, 16, 64]


def erlang_c_response(c, lam, mu):
    """Mean time in an M/M/c system (Erlang C wait plus service)."""
    a = lam / mu
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - a / c)
    wait_prob = last / (total + last)
    return wait_prob / (c * mu - lam) + 1 / mu


def scenario(c, lam, seconds, seed):
    # Cores never saturate and nothing times out: the plain M/M/c of the queueing tests.
    return f"""(
    name: "mm{c}",
    seed: {seed},
    duration: {seconds},
    services: [(
        name: "server",
        workers: {c},
        service_time: Exponential(mean: {MEAN_SERVICE_S}),
        cpu: (cores: 1000.0),
        health_check: (timeout: "1h"),
    )],
    traffic: [(to: "server", rate: {lam}, timeout: "1h")],
)
"""


def run_firedrill(binary, c, lam, seconds, seed, folder):
    path = os.path.join(folder, f"mm{c}.ron")
    report = os.path.join(folder, f"mm{c}.json")
    with open(path, "w") as f:
        f.write(scenario(c, lam, seconds, seed))
    started = time.perf_counter()
    subprocess.run(
        [binary, "run", path, "--no-history", "--report", report],
        capture_output=True,
        check=True,
    )
    wall = time.perf_counter() - started
    with open(report) as f:
        mean = json.load(f)["services"][0]["summary"]["mean_s"]
    return wall, mean


def run_ciw(c, lam, seconds, seed):
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_SERVICE_S)],
        number_of_servers=[c],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    started = time.perf_counter()
    sim.simulate_until_max_time(seconds)
    wall = time.perf_counter() - started
    records = sim.get_all_records()
    mean = statistics.fmean(r.waiting_time + r.service_time for r in records)
    return wall, mean, len(records)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    builds = [os.path.join(target, profile, "firedrill") for profile in ("headless", "release")]
    default = next((path for path in builds if os.path.exists(path)), builds[-1])
    parser.add_argument("--firedrill", default=default)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    if not os.path.exists(args.firedrill):
        sys.exit(f"no firedrill binary at {args.firedrill}: "
                 "cargo build --profile headless --no-default-features")
    print(f"firedrill: {args.firedrill}")
    mu = 1 / MEAN_SERVICE_S
    print(f"{'system':<7} {'sim s':>7} {'customers':>9} {'firedrill s':>11} {'Ciw s':>8} "
          f"{'ratio (median, range)':>24}  mean response: Erlang C / firedrill / Ciw")
    with tempfile.TemporaryDirectory() as folder:
        for c in SERVERS:
            lam = LOAD * c * mu
            seconds = math.ceil(args.customers / lam)
            ratios, fd_walls, ciw_walls = [], [], []
            customers = 0
            for pair in range(args.pairs):
                seed = 100 + pair
                if pair % 2 == 0:
                    fd_wall, fd_mean = run_firedrill(args.firedrill, c, lam, seconds, seed, folder)
                    ciw_wall, ciw_mean, customers = run_ciw(c, lam, seconds, seed)
                else:
                    ciw_wall, ciw_mean, customers = run_ciw(c, lam, seconds, seed)
                    fd_wall, fd_mean = run_firedrill(args.firedrill, c, lam, seconds, seed, folder)
                fd_walls.append(fd_wall)
                ciw_walls.append(ciw_wall)
                ratios.append(ciw_wall / fd_wall)
            print(
                f"M/M/{c:<3} {seconds:>7} {customers:>9} {statistics.median(fd_walls):>11.3f} "
                f"{statistics.median(ciw_walls):>8.2f} "
                f"{statistics.median(ratios):>8.0f}x ({min(ratios):.0f}-{max(ratios):.0f}x)"
                f"     {erlang_c_response(c, lam, mu) * 1000:.2f} ms / {fd_mean * 1000:.2f} ms / "
                f"{ciw_mean * 1000:.2f} ms"
            )


if __name__ == "__main__":
    main()
