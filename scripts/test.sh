#!/usr/bin/env bash
# The whole test suite, on a fresh machine as on a developer's:
#   - installs what the tests need (Debian's slapd and ldap-utils; the
#     integration tests start their own throwaway slapd per test through
#     scripts/slapd.sh, on a free loopback port, and their own SMTP server);
#   - checks formatting and lints;
#   - runs the unit tests and the integration tests;
#   - runs each reader's fuzz target for FUZZ_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/slapd.sh install
# openssl makes the test CA (tests/tls.rs); libssl-dev and pkg-config build
# the TLS support (native-tls).
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ((${#missing[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" </dev/null
fi
# systemd-analyze checks the shipped unit (tests/systemd_unit.rs).
if ! command -v systemd-analyze >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y systemd </dev/null
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo deny (licences, sources, bans)"
if ! cargo deny --version >/dev/null 2>&1; then
    cargo install cargo-deny --locked
fi
cargo deny check licenses sources bans

echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --all-targets --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -eq 0 ]]; then
    echo "== bounded fuzz run of the readers"
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
