#!/bin/sh
# Installs the peer servers the benchmark compares against (Postfix 3.7 + smtp-source), without configuring the system instance.
# Why the preseed: Debian's postfix package asks interactively which mail setup to use and, if told
# anything but "No configuration", configures and may start the system-wide instance on port 25.
# The bench runs its own private instance (bench/peers/postfix.ts), so the system one stays off.
set -eu
if command -v smtp-source >/dev/null 2>&1 || [ -x /usr/sbin/smtp-source ]; then
  echo "setup-peers: postfix already installed"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup-peers: not root, cannot install postfix (run: sudo sh bench/setup-peers.sh)" >&2
  exit 1
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
# The package may start the system instance even without configuration on some images; the
# bench never uses it, so stop it if it runs (ignore failure: there may be no init system).
postfix stop >/dev/null 2>&1 || true
echo "setup-peers: postfix installed: $(postconf -h mail_version 2>/dev/null || echo unknown)"
