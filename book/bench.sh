#!/usr/bin/env bash
# Regenerates book/src/generated/bench-17-container.md, the table of lab 17's
# chapter, from a real `lab bench` run. Timings differ from run to run and
# machine to machine, so the book tests check that the file is there and
# well formed, not its numbers. Run it as root with bubblewrap installed
# (apt-get install bubblewrap) for the side-by-side comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p lab-runner
# The build directory is named after the target (.cargo/config.toml).
lab=target/$(rustc -vV | sed -n 's/^host: //p')/release/lab
out=book/src/generated/bench-17-container.md
{
    echo "Measured with \`lab bench --runs 200\` on Linux $(uname -r), $(nproc) cores, as $(id -un)"
    echo "($(date -u +%Y-%m-%d); regenerate with \`book/bench.sh\`):"
    echo
    "$lab" bench --runs 200 --format markdown --color never --lang en
} > "$out"
echo "wrote $out"
