#!/usr/bin/env bash
# Run start.sh, check.sh and stop.sh N times in a row (default 3) under DIR
# (default /tmp/smtpwire-servers), timing each step, and after each stop verify
# that no listener is left on any of the ports, none of the processes started is
# left (zombies not counted: init reaps them) and no pid file is left. Exits 1 if any step failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${1:-3}
DIR=$(realpath -m "${2:-/tmp/smtpwire-servers}")
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

seconds_since() { # START (an $EPOCHREALTIME): seconds elapsed, 2 decimals
  awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.2f", now - start }'
}

status=0
for run in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  started=$EPOCHREALTIME
  "$HERE/start.sh" "$DIR" >"$LOGS/env" 2>"$LOGS/start.err"
  start_rc=$?
  start_time=$(seconds_since "$started")
  started=$EPOCHREALTIME
  "$HERE/check.sh" "$DIR" >"$LOGS/check.out" 2>&1
  check_rc=$?
  check_time=$(seconds_since "$started")
  server_pids=$(cat "$DIR"/pids/*.pid "$DIR/postfix/queue/pid/master.pid" 2>/dev/null)
  started=$EPOCHREALTIME
  "$HERE/stop.sh" "$DIR" 2>"$LOGS/stop.err"
  stop_rc=$?
  stop_time=$(seconds_since "$started")

  listeners=0
  while read -r port; do
    if ss -Hltn "sport = :$port" | grep -q .; then listeners=$((listeners + 1)); fi
  done < <(grep -o '127\.0\.0\.1:[0-9]*' "$LOGS/env" | cut -d: -f2 | sort -u)
  processes=0
  for pid in $server_pids; do # still running, and not a zombie waiting to be reaped
    if stat=$(cat "/proc/$pid/stat" 2>/dev/null) && [ "$(echo "${stat##*) }" | cut -c1)" != Z ]; then
      processes=$((processes + 1))
    fi
  done
  pid_files=$(find "$DIR/pids" -name '*.pid' 2>/dev/null | wc -l)

  printf 'run %d (load %s): start %ss rc=%d | check %ss rc=%d (%s) | stop %ss rc=%d | left: %d listeners, %d processes, %d pid files\n' \
    "$run" "$load" "$start_time" "$start_rc" "$check_time" "$check_rc" "$(tail -n 1 "$LOGS/check.out")" \
    "$stop_time" "$stop_rc" "$listeners" "$processes" "$pid_files"
  if [ "$start_rc" -ne 0 ] || [ "$check_rc" -ne 0 ] || [ "$stop_rc" -ne 0 ] ||
    [ "$listeners" -ne 0 ] || [ "$processes" -ne 0 ] || [ "$pid_files" -ne 0 ]; then
    status=1
    cat "$LOGS/start.err" "$LOGS/check.out" "$LOGS/stop.err" >&2
  fi
done
exit "$status"
