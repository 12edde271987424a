#!/usr/bin/env bash
# Smoke test (Python stdlib smtplib) of every server start.sh started under DIR
# (default /tmp/smtpwire-servers): plain, STARTTLS, implicit TLS, AUTH, delivery
# into the Maildirs, and every smtp-sink fault mode. Exits non-zero on failure.
# Uses DIR/env, unless no DIR is given and SMTPWIRE_SERVERS_DIR is already set.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${SMTPWIRE_PYTHON:-python3}
CHECK_TIMEOUT_SECONDS=300

if [ $# -gt 0 ] || [ -z "${SMTPWIRE_SERVERS_DIR:-}" ]; then
  DIR=$(realpath -m "${1:-/tmp/smtpwire-servers}")
  if [ ! -r "$DIR/env" ]; then
    echo "check.sh: $DIR/env not found: run tests/servers/start.sh first" >&2
    exit 1
  fi
  # shellcheck disable=SC1091 # written by start.sh
  source "$DIR/env"
fi

timeout --kill-after=5 "$CHECK_TIMEOUT_SECONDS" "$PYTHON" "$HERE/check_servers.py"
