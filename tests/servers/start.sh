#!/usr/bin/env bash
# Start the real SMTP servers smtpwire's integration tests talk to, all on
# 127.0.0.1, on free high ports, under DIR (default /tmp/smtpwire-servers):
#   - a private Postfix instance (STARTTLS port and implicit-TLS port),
#   - Postfix's smtp-sink, once per fault mode,
#   - aiosmtpd (STARTTLS port and implicit-TLS port).
# Waits until every listener answers, then writes DIR/env ("export NAME=value"
# lines) and prints the same lines on stdout; everything else goes to stderr:
#   tests/servers/start.sh >/dev/null && source /tmp/smtpwire-servers/env
#   eval "$(tests/servers/start.sh)"     (by hand: eval does not fail when start.sh fails)
# Anything already running under DIR is stopped and DIR is wiped first. DIR must
# have no white space and world-traversable parents (postfix and nobody work in it).
# See README.md in this directory for what each server offers.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$(realpath -m "${1:-/tmp/smtpwire-servers}")
PYTHON=${SMTPWIRE_PYTHON:-python3}
DOMAIN=smtpwire.test
SASL_USER=smtpwire
LISTEN_HOST=127.0.0.1
READY_TIMEOUT_SECONDS=30
MARKER=.smtpwire-servers
MAX_ATTEMPTS=3
ATTEMPT=${SMTPWIRE_START_ATTEMPT:-1}
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# The smtp-sink fault modes: NAME (becomes SMTPWIRE_SINK_<NAME>_ADDR), the
# readiness probe (smtp: waits for a greeting line; accept: the TCP connection
# is accepted, for a sink that closes without greeting), then smtp-sink options.
# Note: -f and -r imply -p (PIPELINING is then not announced).
SINK_MODES=(
  "NOPIPELINING smtp -p"
  "421_GREETING smtp -Q CONNECT"
  "4XX_GREETING smtp -r CONNECT"
  "5XX_GREETING smtp -f CONNECT"
  "DISCONNECT_GREETING accept -q CONNECT"
  "DELAY_GREETING accept -W CONNECT:1"
  "NOESMTP smtp -e"
  "421_MAIL smtp -Q MAIL"
  "DISCONNECT_MAIL smtp -q MAIL"
  "4XX_MAIL smtp -r MAIL"
  "5XX_MAIL smtp -f MAIL"
  "DELAY smtp -W MAIL:1"
  "421_RCPT smtp -Q RCPT"
  "4XX_RCPT smtp -r RCPT"
  "5XX_RCPT smtp -f RCPT"
  "5XX_DATA smtp -f DATA"
  "DELAY_DATA smtp -w 1"
  "ABORT_DATA smtp -A 0"
  "421_DOT smtp -Q ."
  "DISCONNECT_DOT smtp -q ."
  "4XX_DOT smtp -r ."
  "5XX_DOT smtp -f ."
  "DELAY_DOT smtp -W .:1"
  "421_RSET smtp -Q RSET"
  "DISCONNECT_QUIT smtp -q QUIT"
)

say() { echo "start.sh: $*" >&2; }

show_logs() {
  local file
  for file in "$DIR"/postfix/log/postfix.log "$DIR"/logs/*.log; do
    [ -s "$file" ] || continue
    echo "----- last lines of $file -----" >&2
    tail -n 25 "$file" >&2
  done
}

fail() {
  trap - ERR
  say "FAILED: $*"
  show_logs
  say "stopping whatever was started"
  "$HERE/stop.sh" "$DIR" >&2 || true
  # The ports are free when picked but only taken when each server binds: if
  # another process took one in between, start again with fresh ports.
  if [ "$ATTEMPT" -lt "$MAX_ATTEMPTS" ] &&
    grep -qsi "address already in use" "$DIR"/logs/*.log "$DIR/postfix/log/postfix.log"; then
    say "a port was taken meanwhile: attempt $((ATTEMPT + 1)) of $MAX_ATTEMPTS with fresh ports"
    exec env SMTPWIRE_START_ATTEMPT=$((ATTEMPT + 1)) "$HERE/start.sh" "$DIR"
  fi
  exit 1
}
trap 'fail "command failed at line $LINENO: $BASH_COMMAND"' ERR

[[ "$DIR" =~ ^/[^[:space:]]*$ ]] || fail "DIR must be a path without white space: '$DIR'"
for tool in "$PYTHON" openssl /usr/sbin/postfix /usr/sbin/smtp-sink /usr/sbin/saslpasswd2; do
  command -v "$tool" >/dev/null || fail "$tool not found: run tests/servers/install.sh"
done
# Resolve the interpreter once (a pyenv shim costs a few tenths of a second per call).
PYTHON=$("$PYTHON" -c 'import sys, aiosmtpd; print(sys.executable)' 2>/dev/null) ||
  fail "python module aiosmtpd missing: run tests/servers/install.sh"

# ---------------------------------------------------------------- clean slate
"$HERE/stop.sh" "$DIR" >&2
if [ -e "$DIR" ]; then
  if [ ! -e "$DIR/$MARKER" ] && [ -n "$(ls -A "$DIR")" ]; then
    trap - ERR
    say "refusing to wipe $DIR: it is not empty and was not made by start.sh"
    exit 1
  fi
  $SUDO rm -rf "$DIR"
fi
mkdir -p "$DIR"/{tls,logs,pids,sink/dump,aiosmtpd/maildir,postfix/{conf/sasl,queue,data,mail,log}}
touch "$DIR/$MARKER"
chmod 755 "$DIR"

# ---------------------------------------------------------------- ports
SINK_COUNT=${#SINK_MODES[@]}
PORT_COUNT=$((2 + 1 + SINK_COUNT + 2))
mapfile -t PORTS < <("$PYTHON" "$HERE/net_helper.py" free-ports "$PORT_COUNT")
[ "${#PORTS[@]}" -eq "$PORT_COUNT" ] || fail "could not get $PORT_COUNT free ports"
POSTFIX_PORT=${PORTS[0]}
POSTFIX_SMTPS_PORT=${PORTS[1]}
SINK_PORT=${PORTS[2]}
AIOSMTPD_PORT=${PORTS[3]}
AIOSMTPD_SMTPS_PORT=${PORTS[4]}
SINK_FIRST_FAULT_PORT_INDEX=5

# ---------------------------------------------------------------- TLS
# A private CA and a server certificate it signs, for localhost and 127.0.0.1.
# (A self-signed leaf would carry CA:TRUE, which webpki refuses as an end entity.)
TLS=$DIR/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=smtpwire test CA" -keyout "$TLS/ca.key" -out "$TLS/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>"$DIR/logs/openssl.log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=localhost" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>>"$DIR/logs/openssl.log"
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$TLS/server.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$TLS/server.ext" \
  -out "$TLS/server.pem" 2>>"$DIR/logs/openssl.log"
chmod 600 "$TLS"/*.key
chmod 644 "$TLS"/*.pem

# ---------------------------------------------------------------- passwords
# Fresh random passwords, with characters that need correct base64 handling.
POSTFIX_PASSWORD="pw+$(openssl rand -hex 8)/="
AIOSMTPD_PASSWORD="pw+$(openssl rand -hex 8)/="

# ---------------------------------------------------------------- smtp-sink
SINK_USER=()
if [ "$(id -u)" -eq 0 ]; then
  SINK_USER=(-u nobody) # smtp-sink refuses to run as root
  chown nobody "$DIR/sink/dump"
fi

start_background() { # NAME COMMAND...: start with output to logs/NAME.log, pid to pids/NAME.pid
  local name=$1
  shift
  nohup "$@" </dev/null >"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
}

READY_SPECS=(
  "postfix=smtp@$LISTEN_HOST:$POSTFIX_PORT"
  "postfix-smtps=smtps@$LISTEN_HOST:$POSTFIX_SMTPS_PORT"
  "sink=smtp@$LISTEN_HOST:$SINK_PORT"
  "aiosmtpd=smtp@$LISTEN_HOST:$AIOSMTPD_PORT"
  "aiosmtpd-smtps=smtps@$LISTEN_HOST:$AIOSMTPD_SMTPS_PORT"
)
ENV_LINES=()
add_env() { ENV_LINES+=("export $1=$(printf '%q' "$2")"); }

start_background sink /usr/sbin/smtp-sink "${SINK_USER[@]}" \
  -d "$DIR/sink/dump/%Y%m%d%H%M%S." "$LISTEN_HOST:$SINK_PORT" 64

SINK_FAULT_ENV=()
index=$SINK_FIRST_FAULT_PORT_INDEX
for mode in "${SINK_MODES[@]}"; do
  read -r name probe options <<<"$mode"
  port=${PORTS[$index]}
  index=$((index + 1))
  # shellcheck disable=SC2086 # options are several words on purpose
  start_background "sink-$name" /usr/sbin/smtp-sink "${SINK_USER[@]}" $options "$LISTEN_HOST:$port" 64
  READY_SPECS+=("sink-$name=$probe@$LISTEN_HOST:$port")
  SINK_FAULT_ENV+=("SMTPWIRE_SINK_${name}_ADDR=$LISTEN_HOST:$port")
done

# ---------------------------------------------------------------- aiosmtpd
AIO=$DIR/aiosmtpd
(umask 077 && printf '%s\n' "$AIOSMTPD_PASSWORD" >"$AIO/password")
start_background aiosmtpd "$PYTHON" "$HERE/aiosmtpd_server.py" \
  --host "$LISTEN_HOST" --port "$AIOSMTPD_PORT" --smtps-port "$AIOSMTPD_SMTPS_PORT" \
  --cert "$TLS/server.pem" --key "$TLS/server.key" --user "$SASL_USER" \
  --password-file "$AIO/password" --maildir "$AIO/maildir"

# ---------------------------------------------------------------- Postfix
# Started last: its start-up (about 1 s) overlaps with aiosmtpd's.
PF=$DIR/postfix
if [ "$(id -u)" -eq 0 ]; then
  MAIL_UID=65534 MAIL_GID=65534 # nobody: virtual(8) refuses uid 0; root reads everything
else
  MAIL_UID=$(id -u) MAIL_GID=$(id -g) # the developer can read the delivered mail
fi
MAILDIR=$PF/mail/catchall
mkdir -p "$MAILDIR"/{tmp,new,cur}

cat >"$PF/conf/main.cf" <<EOF
# Private Postfix instance for smtpwire's tests: generated by tests/servers/start.sh.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = smtpwire-postfix
maillog_file = $PF/log/postfix.log
maillog_file_prefixes = $PF/log
myhostname = localhost
mydomain = localhost
myorigin = localhost
inet_interfaces = $LISTEN_HOST
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no

# Nothing leaves this instance: no local delivery, no relay, no outbound SMTP.
mydestination =
relay_domains =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled in the smtpwire test instance
default_transport = error:outbound mail is disabled in the smtpwire test instance
relay_transport = error:relaying is disabled in the smtpwire test instance

# Every address @$DOMAIN lands in one Maildir (one file per message and recipient).
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = texthash:$PF/conf/virtual_mailboxes
virtual_uid_maps = static:$MAIL_UID
virtual_gid_maps = static:$MAIL_GID
virtual_minimum_uid = 100
virtual_mailbox_limit = 0
mailbox_size_limit = 0
message_size_limit = 104857600

# Store the message as received: no header added or rewritten for loopback clients.
local_header_rewrite_clients =

# SMTP server: STARTTLS offered, not required; AUTH only after TLS; relaying to
# any other domain refused for everybody, authenticated or not.
smtpd_banner = \$myhostname ESMTP smtpwire test Postfix
smtputf8_enable = yes
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF/conf/sasl
smtpd_sasl_local_domain = $DOMAIN
smtpd_sasl_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
broken_sasl_auth_clients = no
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$PF/conf/recipient_access
EOF

cat >"$PF/conf/master.cf" <<EOF
# Private Postfix instance for smtpwire's tests: generated by tests/servers/start.sh.
# Every service runs without chroot (the certificate and sasldb live outside).
# service          type      private unpriv chroot wakeup maxproc command
$LISTEN_HOST:$POSTFIX_PORT inet  n       -      n      -      -       smtpd
$LISTEN_HOST:$POSTFIX_SMTPS_PORT inet n  -      n      -      -       smtpd
  -o syslog_name=smtpwire-postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
cleanup            unix      n       -      n      -      0       cleanup
qmgr               unix      n       -      n      300    1       qmgr
tlsmgr             unix      -       -      n      1000?  1       tlsmgr
rewrite            unix      -       -      n      -      -       trivial-rewrite
bounce             unix      -       -      n      -      0       bounce
defer              unix      -       -      n      -      0       bounce
trace              unix      -       -      n      -      0       bounce
verify             unix      -       -      n      -      1       verify
flush              unix      n       -      n      1000?  0       flush
proxymap           unix      -       -      n      -      -       proxymap
proxywrite         unix      -       -      n      -      1       proxymap
showq              unix      n       -      n      -      -       showq
error              unix      -       -      n      -      -       error
retry              unix      -       -      n      -      -       error
discard            unix      -       -      n      -      -       discard
virtual            unix      -       n      n      -      -       virtual
anvil              unix      -       -      n      -      1       anvil
scache             unix      -       -      n      -      1       scache
postlog            unix-dgram n      -      n      -      1       postlogd
EOF

printf '@%s catchall/\n' "$DOMAIN" >"$PF/conf/virtual_mailboxes"
cat >"$PF/conf/recipient_access" <<EOF
rcpt-tempfail@$DOMAIN 450 4.2.0 temporary failure (smtpwire test address)
rcpt-reject@$DOMAIN 550 5.1.1 recipient rejected (smtpwire test address)
EOF

cat >"$PF/conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF/conf/sasl/sasldb2
EOF
printf '%s' "$POSTFIX_PASSWORD" |
  /usr/sbin/saslpasswd2 -p -c -f "$PF/conf/sasl/sasldb2" -u "$DOMAIN" "$SASL_USER"

# Postfix waits while its configuration files are younger than about 2 s.
BACKDATE=@$(($(date +%s) - 60))
touch -d "$BACKDATE" "$PF/conf/main.cf" "$PF/conf/master.cf" "$PF/conf/virtual_mailboxes" \
  "$PF/conf/recipient_access"

$SUDO chown -R root:root "$PF/conf" "$PF/queue"
$SUDO chown root:postfix "$PF/conf/sasl/sasldb2"
$SUDO chmod 640 "$PF/conf/sasl/sasldb2"
$SUDO chown postfix:postfix "$PF/data"
$SUDO chown -R "$MAIL_UID:$MAIL_GID" "$PF/mail"
$SUDO chmod 755 "$PF/log"
$SUDO /usr/sbin/postfix -c "$PF/conf" start >"$DIR/logs/postfix-start.log" 2>&1 ||
  fail "postfix start failed: $(cat "$DIR/logs/postfix-start.log")"

# ---------------------------------------------------------------- wait
say "waiting for ${#READY_SPECS[@]} listeners (at most ${READY_TIMEOUT_SECONDS}s)"
"$PYTHON" "$HERE/net_helper.py" wait-greetings "$READY_TIMEOUT_SECONDS" --ca "$TLS/ca.pem" \
  --pid-dir "$DIR/pids" "${READY_SPECS[@]}" || fail "some servers did not start or did not answer in time"

# ---------------------------------------------------------------- env
add_env SMTPWIRE_SERVERS_DIR "$DIR"
add_env SMTPWIRE_POSTFIX_ADDR "$LISTEN_HOST:$POSTFIX_PORT"
add_env SMTPWIRE_POSTFIX_SMTPS_ADDR "$LISTEN_HOST:$POSTFIX_SMTPS_PORT"
add_env SMTPWIRE_POSTFIX_CA "$TLS/ca.pem"
add_env SMTPWIRE_POSTFIX_USER "$SASL_USER"
add_env SMTPWIRE_POSTFIX_PASSWORD "$POSTFIX_PASSWORD"
add_env SMTPWIRE_POSTFIX_DOMAIN "$DOMAIN"
add_env SMTPWIRE_POSTFIX_MAILDIR "$MAILDIR"
add_env SMTPWIRE_POSTFIX_LOG "$PF/log/postfix.log"
add_env SMTPWIRE_POSTFIX_CONFIG_DIR "$PF/conf"
add_env SMTPWIRE_SINK_ADDR "$LISTEN_HOST:$SINK_PORT"
add_env SMTPWIRE_SINK_DUMP_DIR "$DIR/sink/dump"
for assignment in "${SINK_FAULT_ENV[@]}"; do
  add_env "${assignment%%=*}" "${assignment#*=}"
done
add_env SMTPWIRE_AIOSMTPD_ADDR "$LISTEN_HOST:$AIOSMTPD_PORT"
add_env SMTPWIRE_AIOSMTPD_SMTPS_ADDR "$LISTEN_HOST:$AIOSMTPD_SMTPS_PORT"
add_env SMTPWIRE_AIOSMTPD_CA "$TLS/ca.pem"
add_env SMTPWIRE_AIOSMTPD_USER "$SASL_USER"
add_env SMTPWIRE_AIOSMTPD_PASSWORD "$AIOSMTPD_PASSWORD"
add_env SMTPWIRE_AIOSMTPD_MAILDIR "$AIO/maildir"
add_env SMTPWIRE_AIOSMTPD_LOG "$DIR/logs/aiosmtpd.log"
add_env SMTPWIRE_TEST_DOMAIN "$DOMAIN"

(umask 077 && printf '%s\n' "${ENV_LINES[@]}" >"$DIR/env") # holds the passwords
trap - ERR
say "all servers up; environment in $DIR/env"
printf '%s\n' "${ENV_LINES[@]}"
