#!/usr/bin/env bash
# Install what tests/servers/start.sh needs, on Debian/Ubuntu:
#   apt: postfix (smtpd and smtp-sink), sasl2-bin (saslpasswd2), libsasl2-modules
#        (PLAIN, LOGIN), openssl;  PyPI: aiosmtpd (for the python3 on PATH).
# Idempotent: when everything is present it only looks (well under a second).
# Runs as root (CI) or through sudo. Set SMTPWIRE_PYTHON to use another python.
set -euo pipefail

PYTHON=${SMTPWIRE_PYTHON:-python3}
APT_PACKAGES=(postfix sasl2-bin libsasl2-modules openssl)
AIOSMTPD_REQUIREMENT='aiosmtpd>=1.4,<2'
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

say() { echo "install.sh: $*" >&2; }

installed() { # PACKAGE: true if dpkg has it fully installed
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for package in "${APT_PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if ! command -v "$PYTHON" >/dev/null; then
  missing+=(python3 python3-pip)
  PYTHON=python3
fi

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    $SUDO apt-get update -qq >&2
    apt_updated=1
  fi
  say "apt-get install $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ "${#missing[@]}" -gt 0 ]; then
  if ! installed postfix; then
    # The tests run their own private instance: keep the system one unconfigured
    # (no /etc/postfix/main.cf, nothing listening on port 25).
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  fi
  apt_install "${missing[@]}"
fi

AIOSMTPD_VERSION_PROBE='import aiosmtpd; print(aiosmtpd.__version__)'
if ! aiosmtpd_version=$("$PYTHON" -c "$AIOSMTPD_VERSION_PROBE" 2>/dev/null); then
  say "pip install $AIOSMTPD_REQUIREMENT"
  if ! "$PYTHON" -m pip install -q --disable-pip-version-check "$AIOSMTPD_REQUIREMENT" >&2; then
    # A Debian system python refuses pip (PEP 668): take Debian's package instead.
    say "pip failed; trying Debian's python3-aiosmtpd"
    apt_install python3-aiosmtpd
  fi
  aiosmtpd_version=$("$PYTHON" -c "$AIOSMTPD_VERSION_PROBE") || {
    say "aiosmtpd still cannot be imported by $PYTHON"
    exit 1
  }
fi

for tool in /usr/sbin/postfix /usr/sbin/smtp-sink /usr/sbin/saslpasswd2 openssl; do
  command -v "$tool" >/dev/null || {
    say "$tool missing after installation"
    exit 1
  }
done
say "all present (aiosmtpd $aiosmtpd_version, postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null))"
