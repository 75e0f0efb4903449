#!/usr/bin/env bash
# Throughput and memory of `mailprov process` on one large request file,
# against `ldapadd` of the same entries as the baseline, in the same run on
# the same machine. Prints a small table; asserts nothing.
#
#   bash bench/run.sh [ROWS]      (default 2000 rows)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-2000}"
root="$(pwd)"
work="$(mktemp -d /tmp/mailprov-bench.XXXXXX)"
cleanup() {
    bash "$root/scripts/slapd.sh" stop "$work/a" || true
    bash "$root/scripts/slapd.sh" stop "$work/b" || true
    rm -rf "$work"
}
trap cleanup EXIT

bash scripts/slapd.sh install
cargo build --release --locked --quiet
bin="$root/target/release/mailprov"

python3 bench/gen.py "$rows" "$work/big.csv" "$work/big.ldif"

# mailprov, against instance a.
bash scripts/slapd.sh start "$work/a" >/dev/null
# shellcheck disable=SC1091
source "$work/a/env"
head -c 32 /dev/urandom >"$work/id.key"
cat >"$work/mailprov.toml" <<TOML
[inbox]
dir = "inbox"
state_dir = "state"
[directory]
url = "${LDAP_URL}"
bind_dn = "${LDAP_BIND_DN}"
bind_password_file = "a/ldap.secret"
people_base = "${LDAP_PEOPLE_BASE}"
archive_base = "${LDAP_ARCHIVE_BASE}"
[accounts]
domain = "bacninh.gov.vn"
id_hash_key_file = "id.key"
[mail]
transport = "file"
from = "vhtt@bacninh.gov.vn"
default_recipient = "vhtt@bacninh.gov.vn"
TOML

measure() { # label, command...
    python3 - "$@" <<'PY'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{label}\t{dt:.2f}\t{rss/1024:.1f}\t{p.returncode}")
PY
}

echo -e "what\tseconds\tpeak RSS MiB\texit"
RUST_LOG=warn measure "mailprov check ($rows rows, empty directory)" \
    "$bin" check --config "$work/mailprov.toml" "$work/big.csv"
RUST_LOG=warn measure "mailprov process ($rows rows: read, check, plan, apply, mail)" \
    "$bin" process --config "$work/mailprov.toml" "$work/big.csv"
# The same rows again (one byte more, so not refused as a duplicate): every
# row is planned against the $rows accounts now there.
cp "$work/big.csv" "$work/again.csv"
echo >>"$work/again.csv"
RUST_LOG=warn measure "mailprov check ($rows rows against $rows accounts)" \
    "$bin" check --config "$work/mailprov.toml" "$work/again.csv"

# Baseline: ldapadd of the same entries (already hashed), instance b.
bash scripts/slapd.sh start "$work/b" >/dev/null
# shellcheck disable=SC1091
source "$work/b/env"
measure "ldapadd baseline ($rows entries)" \
    ldapadd -x -H "$LDAP_URL" -D "$LDAP_BIND_DN" -y "$LDAP_BIND_PASSWORD_FILE" -f "$work/big.ldif"

created=$(ldapsearch -LLL -x -H "$(grep LDAP_URL "$work/a/env" | cut -d= -f2)" -D "$LDAP_BIND_DN" \
    -y "$work/a/ldap.secret" -b "ou=people,dc=bacninh,dc=gov,dc=vn" '(uid=*)' 1.1 | grep -c '^dn:' || true)
echo "accounts created by mailprov: $created of $rows"
