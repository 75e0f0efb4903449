#!/usr/bin/env bash
# The whole test suite, on a fresh machine as on a developer's:
#   - installs what the tests need (Debian's slapd and ldap-utils; the
#     integration tests start their own throwaway slapd per test through
#     scripts/slapd.sh, on a free loopback port, and their own SMTP server);
#   - checks formatting and lints;
#   - runs the unit tests and the integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/slapd.sh install

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked
