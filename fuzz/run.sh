#!/usr/bin/env bash
# Fuzzes one target with libFuzzer, coverage-guided, from its corpus: new inputs go to
# fuzz/corpus/TARGET (seed-* files are committed; the rest is not), crashes to
# fuzz/artifacts/TARGET. The scenario targets also start from every shipped scenario and
# script, and every file of the bad-input corpus.
#   fuzz/run.sh TARGET [SECONDS]      TARGET: scenario, simulate, journal or protocol
# Needs a nightly toolchain and cargo-fuzz: rustup toolchain install nightly;
# cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh scenario|simulate|journal|protocol [SECONDS]}
seconds=${2:-60}
seeds=()
case $target in
    scenario | simulate) seeds=(scenarios tests/bad) ;;
    journal | protocol) ;;
    *) echo "no fuzz target $target (scenario, simulate, journal, protocol)" >&2; exit 2 ;;
esac
mkdir -p "fuzz/corpus/$target"
# No sanitizer: firedrill has no unsafe code, and the engine's own checks are the oracle.
exec cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -max_len=65536
