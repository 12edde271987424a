#!/usr/bin/env python3
"""Small network helpers for the test-server scripts (Python stdlib only).

  net_helper.py free-ports N
      Print N distinct TCP ports that are free on 127.0.0.1, one per line.
      The kernel picks them: all N sockets stay bound until every port is
      known, so the ports are distinct.

  net_helper.py wait-greetings TIMEOUT [--ca PEM] [--pid-dir DIR] NAME=KIND@HOST:PORT ...
      Wait, all in parallel and for at most TIMEOUT seconds in total, until
      every listener answers. With --pid-dir, give up at once when a process
      whose pid is in DIR/*.pid has exited (a server that could not start).
      KIND is one of:
        smtp    a TCP connection gets a complete SMTP greeting line (any code)
        smtps   same, after a TLS handshake verified with --ca
        accept  the TCP connection is accepted (for servers that never greet)
      Exit 0 when all answered; otherwise print one line per failure to
      stderr and exit 1.
"""

import os
import socket
import ssl
import sys
import threading
import time

POLL_INTERVAL = 0.05
PER_ATTEMPT_TIMEOUT = 3.0


def free_ports(count):
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def read_greeting_line(sock):
    """Read one reply line (ending in LF), at most 1024 bytes."""
    data = b""
    while not data.endswith(b"\n") and len(data) < 1024:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed before a greeting, got %r" % data)
        data += chunk
    if len(data) < 3 or not data[:3].isdigit():
        raise ConnectionError("not an SMTP reply: %r" % data)
    return data


def probe(kind, host, port, ca):
    with socket.create_connection((host, port), timeout=PER_ATTEMPT_TIMEOUT) as raw:
        if kind == "accept":
            return
        if kind == "smtps":
            context = ssl.create_default_context(cafile=ca)
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                read_greeting_line(tls)
            return
        read_greeting_line(raw)


def process_alive(pid):
    """True while `pid` exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        with open("/proc/%d/stat" % pid) as file:
            stat = file.read()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def dead_processes(pid_dir):
    dead = []
    for name in sorted(os.listdir(pid_dir)):
        if name.endswith(".pid"):
            with open(os.path.join(pid_dir, name)) as file:
                pid = int(file.read().strip() or 0)
            if not process_alive(pid):
                dead.append(name[: -len(".pid")])
    return dead


def wait_one(name, kind, host, port, ca, deadline, failures, gave_up):
    last_error = "never tried"
    while time.monotonic() < deadline and not gave_up.is_set():
        try:
            probe(kind, host, port, ca)
            return
        except (OSError, ssl.SSLError, ConnectionError) as error:
            last_error = "%s: %s" % (type(error).__name__, error)
        time.sleep(POLL_INTERVAL)
    failures.append("%s (%s %s:%d) did not answer: %s" % (name, kind, host, port, last_error))


def wait_greetings(args):
    timeout = float(args[0])
    args = args[1:]
    ca = None
    pid_dir = None
    while len(args) >= 2 and args[0] in ("--ca", "--pid-dir"):
        if args[0] == "--ca":
            ca = args[1]
        else:
            pid_dir = args[1]
        args = args[2:]
    deadline = time.monotonic() + timeout
    failures = []
    threads = []
    gave_up = threading.Event()
    for spec in args:
        name, _, rest = spec.partition("=")
        kind, _, addr = rest.partition("@")
        host, _, port = addr.rpartition(":")
        if kind not in ("smtp", "smtps", "accept") or not host or not port.isdigit():
            print("bad listener spec: %r" % spec, file=sys.stderr)
            return 2
        thread = threading.Thread(
            target=wait_one, args=(name, kind, host, int(port), ca, deadline, failures, gave_up)
        )
        thread.start()
        threads.append(thread)
    while pid_dir and any(thread.is_alive() for thread in threads):
        dead = dead_processes(pid_dir)
        if dead:
            failures.append("exited during start-up: %s" % ", ".join(dead))
            gave_up.set()
            break
        time.sleep(POLL_INTERVAL)
    for thread in threads:
        thread.join()
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "free-ports":
        for port in free_ports(int(argv[1])):
            print(port)
        return 0
    if len(argv) >= 2 and argv[0] == "wait-greetings":
        return wait_greetings(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
