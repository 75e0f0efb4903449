#!/usr/bin/env bash
# The main job on the sample files, end to end, on this machine:
#   1. installs Debian's slapd if needed and starts a throwaway one on a free
#      loopback port (ppolicy on, fresh database under demo-out/ldap);
#   2. writes a config that sends confirmations to files (demo-out/mail);
#   3. runs `mailprov process` on the six samples in order;
#   4. shows the directory, the confirmations and where each file was filed;
#   5. stops slapd (the database stays in demo-out/ to look at).
# Exit code 0 when every step behaved as expected for the samples (01-05
# applied, 06 rejected with its six row errors).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
out="${root}/demo-out"

bash scripts/slapd.sh install
# TLS support (native-tls) builds against the system's OpenSSL.
if ! dpkg -s libssl-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y libssl-dev pkg-config </dev/null
fi
echo "== building mailprov"
cargo build --release --locked --quiet
bin="${root}/target/release/mailprov"

if [[ -d "$out/ldap" ]]; then bash scripts/slapd.sh stop "$out/ldap"; fi
rm -rf "$out"
mkdir -p "$out"
echo "== starting a throwaway slapd"
bash scripts/slapd.sh start "$out/ldap" >/dev/null
trap 'bash "$root/scripts/slapd.sh" stop "$out/ldap"' EXIT
# shellcheck disable=SC1091
source "$out/ldap/env"
head -c 32 /dev/urandom >"$out/id.key"
chmod 600 "$out/id.key"

cat >"$out/mailprov.toml" <<TOML
[inbox]
dir = "inbox"
state_dir = "state"

[directory]
url = "${LDAP_URL}"
bind_dn = "${LDAP_BIND_DN}"
bind_password_file = "ldap/ldap.secret"
people_base = "${LDAP_PEOPLE_BASE}"
archive_base = "${LDAP_ARCHIVE_BASE}"

[accounts]
domain = "bacninh.gov.vn"
id_hash_key_file = "id.key"

[mail]
transport = "file"
file_dir = "mail"
from = "Phòng Văn hóa và Thông tin <vhtt@bacninh.gov.vn>"
default_recipient = "vhtt@bacninh.gov.vn"

[mail.units]
"Phòng Tài nguyên và Môi trường" = "tnmt@bacninh.gov.vn"
"Phòng Văn hóa và Thông tin" = "vhtt@bacninh.gov.vn"
TOML

samples=(tests/fixtures/samples/0*)
echo "== mailprov check ${samples[0]} (plan only, nothing changed)"
"$bin" check --config "$out/mailprov.toml" "${samples[0]}"

echo
echo "== mailprov process (samples 01 to 06, in order)"
set +e
RUST_LOG=warn "$bin" process --config "$out/mailprov.toml" "${samples[@]}"
code=$?
set -e
echo "exit code: $code (1 expected: sample 06 is rejected)"

echo
echo "== accounts in the directory"
ldapsearch -LLL -o ldif-wrap=no -x -H "$LDAP_URL" -D "$LDAP_BIND_DN" -y "$LDAP_BIND_PASSWORD_FILE" \
    -b "$LDAP_BASE" '(uid=*)' mail title pwdReset pwdAccountLockedTime |
    grep -E '^(dn|mail|pwdReset|pwdAccountLockedTime):' | sed 's/^dn:/\ndn:/'

echo
echo "== confirmations written to $out/mail"
for f in "$out"/mail/*.eml; do
    python3 - "$f" <<'PY' 2>/dev/null || echo "  $(basename "$f")"
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
print(f"  To: {m['To']:<24} Subject: {m['Subject']}")
PY
done
echo
echo "The first confirmation in full (text part):"
python3 - "$(ls "$out"/mail/*.eml | head -1)" <<'PY' 2>/dev/null || true
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
print(m.get_body(("plain",)).get_content())
PY

echo "== filed requests"
ls "$out/state/done" "$out/state/rejected"

[[ $code -eq 1 ]] && [[ $(ls "$out/state/done" | grep -vc report) -eq 5 ]] && [[ $(ls "$out/state/rejected" | grep -vc report) -eq 1 ]]
echo
echo "demo OK: 5 files applied, 1 rejected; everything is under $out"
