#!/usr/bin/env bash
# A bounded fuzz run of the three readers (docx, xlsx, csv): each target
# gets FUZZ_SECONDS (default 15) from the sample files as seeds. Any panic,
# hang (over 10 s for one input) or memory blow-up (over 512 MiB) fails the
# run and leaves the input in fuzz/artifacts/.
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-15}}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cd fuzz
# No sanitizer: the stable toolchain cannot build one; libFuzzer's coverage
# guidance, panics, timeouts and the memory limit still apply.
cargo fuzz build --sanitizer none -O
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
for target in docx xlsx csv; do
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "$corpus/$target"
    status=0
    cargo fuzz run "$target" --sanitizer none -O "$corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -print_final_stats=1 \
        >"$corpus/$target.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units)' "$corpus/$target.log" || true
    # cargo fuzz exits non-zero on a finding (panic, timeout, memory).
    if [[ $status -ne 0 ]]; then
        tail -40 "$corpus/$target.log" >&2
        echo "fuzz target $target found a failure; see fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "fuzz: no failure found"
