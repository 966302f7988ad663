#!/usr/bin/env bash
# Installs the real POP3 peers the interop tests and benchmarks run against: Dovecot (server),
# mpop and fetchmail (clients), openssl (test certificates) and python3 with poplib (client).
# Idempotent and quiet: does nothing when all are present; prints apt's output only on failure.
# Needs root (or sudo) only when something is missing. The system Dovecot service is never used:
# scripts/peers/dovecot.ts runs a private instance, so a policy-rc.d that denies starting
# services is fine, and when none exists we add one for the duration of the install.
set -euo pipefail

have_python_poplib() { command -v python3 >/dev/null 2>&1 && python3 -c 'import poplib, ssl' >/dev/null 2>&1; }

missing=()
command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]] || missing+=(dovecot-core)
[[ -x /usr/lib/dovecot/pop3 && -x /usr/lib/dovecot/pop3-login ]] || missing+=(dovecot-pop3d)
command -v mpop >/dev/null 2>&1 || missing+=(mpop)
command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
have_python_poplib || missing+=(python3)

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -n)
  else
    echo "install.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi

log=$(mktemp -t pop3kit-peers-install.XXXXXX)
policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() {
  if [[ $added_policy -eq 1 ]]; then "${sudo_cmd[@]}" rm -f "$policy"; fi
  rm -f "$log"
}
trap cleanup EXIT

if [[ ! -e $policy ]]; then
  # Keep the package's postinst from starting a system Dovecot on ports 110/995.
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod 755 "$policy"
  added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold --no-install-recommends)
if ! { "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install.sh: failed to install ${missing[*]}" >&2
  exit 1
fi

# Check again: a package that installed but does not work is a failure too.
command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]] || { echo 'install.sh: dovecot missing after install' >&2; exit 1; }
[[ -x /usr/lib/dovecot/pop3 ]] || { echo 'install.sh: dovecot pop3 missing after install' >&2; exit 1; }
command -v mpop >/dev/null 2>&1 || { echo 'install.sh: mpop missing after install' >&2; exit 1; }
command -v fetchmail >/dev/null 2>&1 || { echo 'install.sh: fetchmail missing after install' >&2; exit 1; }
command -v openssl >/dev/null 2>&1 || { echo 'install.sh: openssl missing after install' >&2; exit 1; }
if ! have_python_poplib; then
  # pyenv shims may shadow the Debian python3 that apt just installed.
  /usr/bin/python3 -c 'import poplib, ssl' >/dev/null 2>&1 || { echo 'install.sh: python3 poplib unavailable' >&2; exit 1; }
fi
