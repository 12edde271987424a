#!/usr/bin/env bash
# Stop every server that tests/servers/start.sh started under DIR (default
# /tmp/smtpwire-servers): Postfix with "postfix -c ... stop", the others by the
# pid files in DIR/pids. Bounded in time, idempotent (nothing running: exit 0).
# DIR itself is kept (but DIR/env), so logs and delivered mail can still be read.
set -euo pipefail

DIR=$(realpath -m "${1:-/tmp/smtpwire-servers}")
TERM_WAIT_TENTHS=50 # how long processes get after SIGTERM before SIGKILL
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

say() { echo "stop.sh: $*" >&2; }

[ -d "$DIR" ] || exit 0

alive() { # PID: true while the process exists and is not a zombie
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the state letter follows the parenthesised command name
  [ "${stat:0:1}" != Z ]
}

# A pid is only signalled while its command line still names the program that
# was started, so a recycled pid is never hit.
pid_if_ours() { # PIDFILE PATTERN: prints the pid if that process still matches PATTERN
  local pid cmdline
  # shellcheck disable=SC2016 # an awk program, not a shell expansion
  pid=$({ awk '{ print $1; exit }' "$1" || $SUDO awk '{ print $1; exit }' "$1"; } 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)
  # shellcheck disable=SC2053 # PATTERN is a glob on purpose
  [[ "$cmdline" == $2 ]] || return 1
  echo "$pid"
}

# ---------------------------------------------------------------- Postfix
PF_CONF=$DIR/postfix/conf
MASTER_PID_FILE=$DIR/postfix/queue/pid/master.pid
if [ -f "$PF_CONF/main.cf" ] && master_pid=$(pid_if_ours "$MASTER_PID_FILE" "*/postfix/sbin/master *"); then
  say "stopping Postfix (master pid $master_pid)"
  # postfix stop waits up to 5 s itself and then kills the process group.
  $SUDO timeout 20 /usr/sbin/postfix -c "$PF_CONF" stop >&2 || true
  for _ in $(seq "$TERM_WAIT_TENTHS"); do
    alive "$master_pid" || break
    sleep 0.1
  done
  if alive "$master_pid"; then
    say "Postfix master $master_pid still alive: killing its process group"
    $SUDO kill -KILL -- "-$master_pid" 2>/dev/null || $SUDO kill -KILL "$master_pid" 2>/dev/null || true
  fi
fi

# ---------------------------------------------------------------- smtp-sink, aiosmtpd
pids=()
shopt -s nullglob
for pid_file in "$DIR"/pids/*.pid; do
  if pid=$(pid_if_ours "$pid_file" "*smtp-sink*") ||
    pid=$(pid_if_ours "$pid_file" "*aiosmtpd_server.py*"); then
    pids+=("$pid")
    kill -TERM "$pid" 2>/dev/null || true
  fi
done

if [ "${#pids[@]}" -gt 0 ]; then
  say "stopping ${#pids[@]} smtp-sink/aiosmtpd processes"
  for _ in $(seq "$TERM_WAIT_TENTHS"); do
    still=()
    for pid in "${pids[@]}"; do
      if alive "$pid"; then still+=("$pid"); fi
    done
    pids=("${still[@]}")
    [ "${#pids[@]}" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    say "pid $pid ignored SIGTERM: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  done
fi
# Without env, check.sh and "source DIR/env" say at once that nothing runs.
rm -f "$DIR"/pids/*.pid "$DIR/env"
exit 0
