#!/usr/bin/env bash
# Installs the Debian programs the end-to-end tests drive as real clients (fetchmail, mbsync, swaks,
# chromium for the web mail through playwright-core, python3-dkim + python3-nacl as an independent DKIM
# implementation for RSA and Ed25519 signatures, fail2ban's fail2ban-regex for the documented filter,
# mutt in tmux for IMAP threads as a terminal client shows them, pebble as the ACME CA),
# when they are missing and we may install them (root with apt). Never fatal: tests that need a
# missing tool say so loudly and fail, rather than this script stopping the whole run.
set -u
want=()
command -v fetchmail >/dev/null 2>&1 || want+=(fetchmail)
command -v mbsync >/dev/null 2>&1 || want+=(isync)
command -v swaks >/dev/null 2>&1 || want+=(swaks)
[ -x /usr/bin/chromium ] || want+=(chromium)
command -v fail2ban-regex >/dev/null 2>&1 || want+=(fail2ban)
command -v mutt >/dev/null 2>&1 || want+=(mutt)
command -v tmux >/dev/null 2>&1 || want+=(tmux)
# Let's Encrypt's ACME test server, for the [acme] e2e test (issue, renew, live swap).
command -v pebble >/dev/null 2>&1 || want+=(pebble)
# Debian's python3 (not a pyenv one on PATH) is the one that sees Debian's python modules.
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || want+=(python3-dkim)
/usr/bin/python3 -c 'import nacl' >/dev/null 2>&1 || want+=(python3-nacl)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-tools: missing ${want[*]} and cannot install (not root or no apt-get)" >&2
  exit 0
fi
echo "install-test-tools: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 ||
  echo "install-test-tools: apt-get install ${want[*]} failed" >&2
exit 0
