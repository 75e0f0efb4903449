#!/usr/bin/env bash
#
# scripts/slapd.sh - run a THROWAWAY OpenLDAP server (Debian's slapd) on loopback
# for mailprov demos and integration tests.
#
# Usage:
#   scripts/slapd.sh start DIR   create a fresh instance in DIR and start it
#   scripts/slapd.sh stop DIR    stop the instance running from DIR (no-op if none)
#   scripts/slapd.sh install     only install slapd and ldap-utils if missing
#
# `start` leaves in DIR:
#   slapd.conf    generated configuration (plain slapd.conf, no cn=config)
#   db/           fresh back-mdb database
#   base.ldif     the base entries that were loaded with slapadd
#   ldap.secret   clear-text rootdn password (mode 0600, no trailing newline)
#   slapd.pid     pid of the running slapd
#   slapd.log     slapd's log (debug level "stats": connections and operations)
#   ldapi         unix socket (ldapi://), if the path is short enough; SASL
#                 EXTERNAL binds over it by the current uid map to the rootdn
#   env           shell-sourceable settings (LDAP_URL=..., LDAP_BIND_DN=..., ...)
# and prints `LDAP_URL=ldap://127.0.0.1:PORT` as its last line on stdout.
#
# The instance is completely independent from the Debian-configured system
# slapd (/etc/ldap/slapd.d is never used, nothing system-wide is stopped), so
# any number of instances can run at the same time in different DIRs.
#
# Environment knobs (all optional):
#   SLAPD_DEBUG          slapd -d level written to slapd.log (default: stats)
#   SLAPD_START_TIMEOUT  seconds to wait for slapd to answer (default: 10)
#   SLAPD_TLS_CERT, SLAPD_TLS_KEY, SLAPD_TLS_CA
#                        PEM files: with all three, the instance offers
#                        StartTLS on its ldap:// port and also listens on
#                        ldaps://127.0.0.1:TLS_PORT (LDAPS_URL in env)

set -euo pipefail

# Fixed directory layout of the test tree.
readonly SUFFIX="dc=bacninh,dc=gov,dc=vn"
readonly ROOTDN="cn=admin,${SUFFIX}"
readonly PEOPLE_BASE="ou=people,${SUFFIX}"
readonly ARCHIVE_BASE="ou=archive,${SUFFIX}"
readonly POLICIES_BASE="ou=policies,${SUFFIX}"
readonly DEFAULT_POLICY="cn=default,${POLICIES_BASE}"

# Debian locations of the schema files and of the dynamically loaded modules.
readonly SCHEMA_DIR=/etc/ldap/schema
readonly MODULE_DIR=/usr/lib/ldap

# Ports are picked at random from this range. It lies below Linux's default
# ephemeral range (32768-60999), so outgoing connections do not steal them.
readonly PORT_MIN=20000
readonly PORT_MAX=32000
readonly MAX_PORT_ATTEMPTS=20

# Debian puts slapd, slapadd, slappasswd in /usr/sbin, which is not always on
# a non-login PATH (e.g. in some CI runners).
export PATH="${PATH}:/usr/sbin:/sbin"

# Never read the user's ~/.ldaprc or /etc/ldap/ldap.conf defaults (a BASE or
# URI there must not leak into our ldapsearch calls).
export LDAPNOINIT=1

die() {
    echo "slapd.sh: error: $*" >&2
    exit 1
}

note() {
    echo "slapd.sh: $*" >&2
}

usage() {
    echo "usage: $0 start DIR | stop DIR | install" >&2
    exit 2
}

# Print "$1" as the value part of a shell assignment: bare if it only contains
# harmless characters (the usual case, also readable by dotenv-style parsers),
# otherwise single-quoted.
shell_value() {
    if [[ "$1" =~ ^[A-Za-z0-9_./:,=+@%-]*$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

# Percent-encode a path for use in an ldapi:// URL.
url_encode() {
    local s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        if [[ "$c" =~ ^[A-Za-z0-9._~-]$ ]]; then
            out+="$c"
        else
            out+=$(printf '%%%02X' "'$c")
        fi
    done
    printf '%s' "$out"
}

# Succeed if process $1 exists and is not a zombie. A zombie has exited
# already but still answers kill -0 until its parent reaps it; our slapd is
# re-parented to PID 1 once this script exits, and in containers PID 1 may
# reap late or never, so kill -0 alone would make "stop" wait for nothing.
is_running() {
    local pid="$1" stat
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/${pid}/stat" 2>/dev/null) || return 1
    # Field 3 (after "pid (comm) ") is the state letter.
    stat=${stat##*) }
    [[ "${stat:0:1}" != Z ]]
}

# Succeed if $1 is the pid of a live slapd process.
is_slapd_pid() {
    local pid="$1"
    is_running "$pid" || return 1
    # Guard against pid reuse: the process must really be a slapd.
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || true)" == slapd ]]
}

# ---------------------------------------------------------------------------
# Package installation
# ---------------------------------------------------------------------------

# Install slapd + ldap-utils if any of the tools we need is missing.
ensure_packages() {
    local missing=0 tool
    for tool in slapd slapadd slappasswd ldapsearch ldapadd; do
        command -v "$tool" >/dev/null 2>&1 || missing=1
    done
    [[ $missing -eq 0 ]] && return 0

    [[ $(id -u) -eq 0 ]] || die "slapd/ldap-utils are missing and we are not root; run: apt-get install -y slapd ldap-utils"
    command -v apt-get >/dev/null 2>&1 || die "slapd/ldap-utils are missing and apt-get is not available"

    note "installing slapd and ldap-utils with apt-get"

    # Keep the package's postinst from starting the system-wide slapd on port
    # 389: invoke-rc.d / deb-systemd-invoke consult policy-rc.d, and exit code
    # 101 means "action forbidden". Only install our own policy file if there
    # is none (Docker images often ship one), and remove it again afterwards.
    local policy=/usr/sbin/policy-rc.d
    local own_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# temporary, installed by mailprov scripts/slapd.sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi

    # noninteractive: debconf must never prompt (no tty in CI); stdin from
    # /dev/null for the same reason.
    DEBIAN_FRONTEND=noninteractive apt-get update </dev/null >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils </dev/null >&2

    if [[ $own_policy -eq 1 ]]; then
        rm -f "$policy"
        trap - EXIT
    fi

    for tool in slapd slapadd slappasswd ldapsearch ldapadd; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' still missing after apt-get install"
    done
}

# ---------------------------------------------------------------------------
# Configuration and database
# ---------------------------------------------------------------------------

# Write DIR/slapd.conf. Arguments: dir, hashed root password.
write_config() {
    local dir="$1" rootpw_hash="$2"
    local uid
    uid=$(id -u)
    # TLS (StartTLS and ldaps://) when the caller gave a certificate.
    local TLS_CONFIG=""
    if [[ -n "${SLAPD_TLS_CERT:-}" && -n "${SLAPD_TLS_KEY:-}" && -n "${SLAPD_TLS_CA:-}" ]]; then
        TLS_CONFIG="TLSCACertificateFile ${SLAPD_TLS_CA}
TLSCertificateFile ${SLAPD_TLS_CERT}
TLSCertificateKeyFile ${SLAPD_TLS_KEY}"
    fi

    cat >"${dir}/slapd.conf" <<EOF
# Generated by mailprov scripts/slapd.sh - throwaway test instance.
# Do not edit: it is rewritten on every "slapd.sh start".

# Schemas. misc provides inetLocalMailRecipient / mailLocalAddress. In
# OpenLDAP 2.5 the ppolicy schema is built into the ppolicy overlay.
include         ${SCHEMA_DIR}/core.schema
include         ${SCHEMA_DIR}/cosine.schema
include         ${SCHEMA_DIR}/inetorgperson.schema
include         ${SCHEMA_DIR}/nis.schema
include         ${SCHEMA_DIR}/misc.schema

# Modules from the Debian package.
modulepath      ${MODULE_DIR}
moduleload      back_mdb
moduleload      ppolicy

pidfile         "${dir}/slapd.pid"
argsfile        "${dir}/slapd.args"
${TLS_CONFIG}

# SASL EXTERNAL over the ldapi socket by the user running this instance is
# mapped to the rootdn (handy for debugging: ldapsearch -Y EXTERNAL -H ldapi://...).
authz-regexp    "^gidNumber=[0-9]+\\\\+uidNumber=${uid},cn=peercred,cn=external,cn=auth\$"
                "${ROOTDN}"

#######################################################################
# The directory itself
#######################################################################
database        mdb
suffix          "${SUFFIX}"
rootdn          "${ROOTDN}"
rootpw          ${rootpw_hash}
directory       "${dir}/db"
# Throwaway data: no fsync (faster tests); 256 MiB map is plenty.
dbnosync
maxsize         268435456

index           objectClass eq
index           uid,mail,mailLocalAddress eq
index           entryUUID eq

# ACLs (the rootdn bypasses them and can do everything):
#  - userPassword: the owner may change it, anonymous may use it to bind;
#  - everything else: readable by any authenticated user, hidden otherwise.
access to attrs=userPassword
        by self write
        by anonymous auth
        by * none
access to *
        by users read
        by * none

# Password policy (RFC draft behera). Entries without pwdPolicySubentry use
# the default policy below.
overlay         ppolicy
ppolicy_default "${DEFAULT_POLICY}"
EOF
}

# Write DIR/base.ldif with the base entries and the default password policy.
write_base_ldif() {
    local dir="$1"
    cat >"${dir}/base.ldif" <<EOF
dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
dc: bacninh
o: bacninh.gov.vn

dn: ${PEOPLE_BASE}
objectClass: organizationalUnit
ou: people

dn: ${ARCHIVE_BASE}
objectClass: organizationalUnit
ou: archive

dn: ${POLICIES_BASE}
objectClass: organizationalUnit
ou: policies

dn: ${DEFAULT_POLICY}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMustChange: TRUE
pwdLockout: TRUE
pwdAllowUserChange: TRUE
pwdMaxFailure: 5
pwdInHistory: 0
pwdCheckQuality: 0
EOF
}

# ---------------------------------------------------------------------------
# Port selection and server start
# ---------------------------------------------------------------------------

# Print a random port in [PORT_MIN, PORT_MAX] that nobody is listening on.
# This is only a probe; another process can still grab the port before slapd
# binds it, which is why start_slapd retries on "Address already in use".
pick_port() {
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % (PORT_MAX - PORT_MIN + 1)))
        # A successful connect means something listens there: try another one.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "could not find a free TCP port on 127.0.0.1"
}

# Start slapd on a free port. Arguments: dir, ldapi URL (may be empty).
# On success sets the globals PORT and SLAPD_PID.
start_slapd() {
    local dir="$1" ldapi_url="$2"
    local timeout="${SLAPD_START_TIMEOUT:-10}"
    local debug="${SLAPD_DEBUG:-stats}"
    local attempt url pid deadline log_offset attempt_log

    for ((attempt = 1; attempt <= MAX_PORT_ATTEMPTS; attempt++)); do
        PORT=$(pick_port)
        url="ldap://127.0.0.1:${PORT}/"
        local tls_url=""
        if [[ -n "${SLAPD_TLS_CERT:-}" ]]; then
            TLS_PORT=$(pick_port)
            tls_url="ldaps://127.0.0.1:${TLS_PORT}/"
        fi
        rm -f "${dir}/slapd.pid"
        [[ -n "$ldapi_url" ]] && rm -f "${dir}/ldapi"
        echo "=== slapd.sh: starting on ${url} (attempt ${attempt}) at $(date -Is)" >>"${dir}/slapd.log"
        # Remember where this attempt's output starts in the log.
        log_offset=$(($(stat -c %s "${dir}/slapd.log") + 1))

        # -d keeps slapd in the foreground, logging to stderr -> slapd.log.
        # It is put in the background in its own session (setsid) with all of
        # its stdio detached, so it outlives this script and never holds a
        # caller's pipe open. No -u/-g: it runs as the current user.
        setsid slapd -d "$debug" -f "${dir}/slapd.conf" \
            -h "${url}${tls_url:+ ${tls_url}}${ldapi_url:+ ${ldapi_url}}" \
            </dev/null >>"${dir}/slapd.log" 2>&1 &
        pid=$!

        # Wait (bounded) until a bind as the rootdn plus a base search works.
        deadline=$((SECONDS + timeout))
        while :; do
            if ! is_running "$pid"; then
                # slapd died. If the port was taken in the meantime, retry on
                # another one; any other failure is fatal.
                wait "$pid" 2>/dev/null || true
                attempt_log=$(tail -c "+${log_offset}" "${dir}/slapd.log")
                if [[ "$attempt_log" == *"errno=98"* || "$attempt_log" == *"Address already in use"* ]]; then
                    note "port ${PORT} is taken, retrying with another one"
                    continue 2
                fi
                echo "slapd.sh: slapd exited during startup; log (${dir}/slapd.log):" >&2
                tail -n 60 "${dir}/slapd.log" >&2
                exit 1
            fi
            if ldapsearch -x -LLL -o nettimeout=2 -H "$url" \
                -D "$ROOTDN" -y "${dir}/ldap.secret" \
                -b "$SUFFIX" -s base 1.1 >/dev/null 2>&1; then
                break
            fi
            if ((SECONDS >= deadline)); then
                kill -KILL "$pid" 2>/dev/null || true
                echo "slapd.sh: slapd did not answer on ${url} within ${timeout}s; log (${dir}/slapd.log):" >&2
                tail -n 60 "${dir}/slapd.log" >&2
                exit 1
            fi
            sleep 0.02
        done

        # slapd writes its pid file itself; fall back to $! (setsid execs
        # slapd in place when it is not a process-group leader, which is the
        # case for a background job of a non-interactive shell).
        if [[ -s "${dir}/slapd.pid" ]]; then
            SLAPD_PID=$(tr -d '[:space:]' <"${dir}/slapd.pid")
        else
            SLAPD_PID="$pid"
            echo "$pid" >"${dir}/slapd.pid"
        fi
        return 0
    done
    die "gave up after ${MAX_PORT_ATTEMPTS} attempts to bind a free port; see ${dir}/slapd.log"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cmd_stop() {
    local dir="$1" pid i
    [[ -f "${dir}/slapd.pid" ]] || return 0
    pid=$(tr -d '[:space:]' <"${dir}/slapd.pid" || true)
    if is_slapd_pid "$pid"; then
        # SIGTERM = clean shutdown; give it 10 s, then SIGKILL.
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 500; i++)); do
            is_running "$pid" || break
            sleep 0.02
        done
        if is_running "$pid"; then
            note "slapd ${pid} did not exit after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for ((i = 0; i < 250; i++)); do
                is_running "$pid" || break
                sleep 0.02
            done
            is_running "$pid" && die "slapd ${pid} is still running after SIGKILL"
        fi
    fi
    rm -f "${dir}/slapd.pid"
}

cmd_start() {
    local dir="$1"

    # Step 1: make sure the binaries are there.
    ensure_packages

    # Step 2: create DIR and make the path absolute (it goes into the config
    # and into the env file, and callers may cd elsewhere).
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)

    # Step 3: an instance already running from this DIR is ours: stop it,
    # then wipe the previous config and database (fresh start every time).
    if [[ -f "${dir}/slapd.pid" ]]; then
        if is_slapd_pid "$(tr -d '[:space:]' <"${dir}/slapd.pid")"; then
            note "stopping the instance already running from ${dir}"
        fi
        cmd_stop "$dir"
    fi
    rm -rf "${dir}/db"
    rm -f "${dir}/slapd.conf" "${dir}/base.ldif" "${dir}/env" "${dir}/ldapi" \
        "${dir}/slapd.args" "${dir}/slapd.log" "${dir}/ldap.secret" \
        "${dir}/slaptest.log" "${dir}/slapadd.log"
    mkdir -m 0700 "${dir}/db"

    # Step 4: random rootdn password. Clear text goes to ldap.secret (0600,
    # no trailing newline); the config only gets an {SSHA} hash of it.
    local pw rootpw_hash
    pw=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
    pw=${pw:0:32}
    (umask 077 && printf '%s' "$pw" >"${dir}/ldap.secret")
    chmod 0600 "${dir}/ldap.secret"
    rootpw_hash=$(slappasswd -h '{SSHA}' -T "${dir}/ldap.secret")

    # Step 5: configuration file and base entries.
    write_config "$dir" "$rootpw_hash"
    write_base_ldif "$dir"

    # Step 6: load the base entries offline (slapadd is faster than ldapadd
    # and needs no running server); -q skips consistency checks, fine for a
    # fresh database. slaptest first, so config errors are reported clearly.
    slaptest -u -f "${dir}/slapd.conf" >"${dir}/slaptest.log" 2>&1 ||
        { cat "${dir}/slaptest.log" >&2; die "invalid generated config ${dir}/slapd.conf"; }
    slapadd -q -f "${dir}/slapd.conf" -b "$SUFFIX" -l "${dir}/base.ldif" >/dev/null 2>"${dir}/slapadd.log" ||
        { cat "${dir}/slapadd.log" >&2; die "slapadd of base entries failed"; }

    # Step 7: optional ldapi socket in DIR (unix socket paths are limited to
    # 107 bytes; skip it for very long DIRs).
    local ldapi_url=""
    if ((${#dir} + 6 <= 107)); then
        ldapi_url="ldapi://$(url_encode "${dir}/ldapi")"
    fi

    # Step 8: start slapd on a free loopback port and wait until it answers.
    PORT=""
    TLS_PORT=""
    SLAPD_PID=""
    start_slapd "$dir" "$ldapi_url"

    # Step 9: the env file for tests / demos (and for `source`).
    {
        echo "# Generated by mailprov scripts/slapd.sh"
        echo "LDAP_URL=$(shell_value "ldap://127.0.0.1:${PORT}")"
        echo "LDAP_BIND_DN=$(shell_value "$ROOTDN")"
        echo "LDAP_BIND_PASSWORD_FILE=$(shell_value "${dir}/ldap.secret")"
        echo "LDAP_BASE=$(shell_value "$SUFFIX")"
        echo "LDAP_PEOPLE_BASE=$(shell_value "$PEOPLE_BASE")"
        echo "LDAP_ARCHIVE_BASE=$(shell_value "$ARCHIVE_BASE")"
        echo "LDAP_POLICY_DN=$(shell_value "$DEFAULT_POLICY")"
        [[ -n "$ldapi_url" ]] && echo "LDAPI_URL=$(shell_value "$ldapi_url")"
        [[ -n "${TLS_PORT:-}" ]] && echo "LDAPS_URL=$(shell_value "ldaps://127.0.0.1:${TLS_PORT}")"
        echo "SLAPD_PID=${SLAPD_PID}"
    } >"${dir}/env.tmp"
    mv "${dir}/env.tmp" "${dir}/env"

    # Last stdout line: the URL (what callers usually need).
    echo "LDAP_URL=ldap://127.0.0.1:${PORT}"
}

main() {
    # `install`: only make sure the packages are there (used by scripts/test.sh
    # and scripts/demo.sh before anything is built).
    if [[ $# -eq 1 && "$1" == install ]]; then
        ensure_packages
        exit 0
    fi
    [[ $# -eq 2 ]] || usage
    local cmd="$1" dir="$2"
    [[ -n "$dir" ]] || usage
    case "$cmd" in
    start) cmd_start "$dir" ;;
    stop)
        # Nothing to do if DIR does not even exist.
        [[ -d "$dir" ]] || exit 0
        cmd_stop "$(cd "$dir" && pwd -P)"
        ;;
    *) usage ;;
    esac
}

main "$@"
