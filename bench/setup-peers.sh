#!/bin/sh
# Installs the peer servers the benchmarks compare against (Postfix 3.7 + smtp-source, Dovecot IMAP), never configuring system instances.
# Usage: sh bench/setup-peers.sh [postfix] [dovecot]   (no argument: both)
# Why the preseed: Debian's postfix package asks interactively which mail setup to use and, if told
# anything but "No configuration", configures and may start the system-wide instance on port 25.
# The benches run their own private instances (bench/peers/postfix.ts, bench/peers/dovecot.ts), so
# the system ones stay off.
set -eu
want="${*:-postfix dovecot}"
need_postfix=no
need_dovecot=no
for p in $want; do
  case "$p" in
    postfix)
      if command -v smtp-source >/dev/null 2>&1 || [ -x /usr/sbin/smtp-source ]; then
        echo "setup-peers: postfix already installed"
      else
        need_postfix=yes
      fi
      ;;
    dovecot)
      if [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ]; then
        echo "setup-peers: dovecot-imapd already installed"
      else
        need_dovecot=yes
      fi
      ;;
    *)
      echo "setup-peers: unknown peer $p (postfix, dovecot)" >&2
      exit 2
      ;;
  esac
done
[ "$need_postfix" = no ] && [ "$need_dovecot" = no ] && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "setup-peers: not root, cannot install peers (run: sudo sh bench/setup-peers.sh $want)" >&2
  exit 1
fi
apt-get update
if [ "$need_postfix" = yes ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string localhost" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
  # The package may start the system instance even without configuration on some images; the
  # bench never uses it, so stop it if it runs (ignore failure: there may be no init system).
  postfix stop >/dev/null 2>&1 || true
  echo "setup-peers: postfix installed: $(postconf -h mail_version 2>/dev/null || echo unknown)"
fi
if [ "$need_dovecot" = yes ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd
  # Same reason as Postfix: a system instance may have been started by the package; ours is private.
  doveadm stop >/dev/null 2>&1 || true
  echo "setup-peers: dovecot installed: $(dovecot --version 2>/dev/null || echo unknown)"
fi
