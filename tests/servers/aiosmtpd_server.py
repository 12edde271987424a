#!/usr/bin/env python3
"""A second, independent SMTP server for smtpwire's tests, built on aiosmtpd.

Two listeners on one asyncio loop:
  --port        plain SMTP; STARTTLS offered; AUTH PLAIN/LOGIN only after STARTTLS
  --smtps-port  implicit TLS (TLS from the first byte); AUTH PLAIN/LOGIN offered at once

Mail is accepted with or without TLS and with or without AUTH. Every accepted
message is written to MAILDIR/new/ (Maildir style: written under MAILDIR/tmp/,
then renamed, so a reader never sees half a file). Each file holds envelope
lines "X-Smtpwire-<Name>: value\\r\\n" followed by the message data exactly as
received (dot-unstuffed, line endings untouched). See README.md for the format.

Recipients whose local part is "rcpt-tempfail" or "rcpt-reject" are refused
with 450 and 550 at RCPT, to test partial acceptance.

The password is read from a file (never from the command line, which any user
can see in the process list).
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
import socket
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# 100 MiB, the same limit as the Postfix instance.
DATA_SIZE_LIMIT = 100 * 1024 * 1024
TEMPFAIL_LOCAL_PART = "rcpt-tempfail"
REJECT_LOCAL_PART = "rcpt-reject"

log = logging.getLogger("smtpwire-aiosmtpd")


class Authenticator:
    """Accepts exactly one user name and password, for PLAIN and LOGIN."""

    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.login == self.user and auth_data.password == self.password:
            return AuthResult(success=True, auth_data=self.user.decode("utf-8"))
        return AuthResult(success=False, handled=False)


def envelope_line(name, value):
    return b"X-Smtpwire-" + name.encode("ascii") + b": " + value.encode("utf-8") + b"\r\n"


def angle_address(address):
    """`address` in angle brackets; aiosmtpd gives the null reverse-path as "<>"."""
    return "<>" if address in ("", "<>") else "<%s>" % address


def tls_description(server):
    """'none', or '<how> <protocol> <cipher>' for the connection `server` serves."""
    transport = server.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return "none"
    how = "starttls" if server._tls_protocol is not None else "implicit"
    cipher = ssl_object.cipher()
    return "%s %s %s" % (how, ssl_object.version(), cipher[0] if cipher else "?")


class MaildirHandler:
    """Stores each accepted message as one file in a Maildir's new/ directory."""

    def __init__(self, maildir):
        self.tmp_dir = os.path.join(maildir, "tmp")
        self.new_dir = os.path.join(maildir, "new")
        for directory in (self.tmp_dir, self.new_dir, os.path.join(maildir, "cur")):
            os.makedirs(directory, exist_ok=True)
        self.sequence = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local_part = address.rpartition("@")[0].lower()
        if local_part == TEMPFAIL_LOCAL_PART:
            return "450 4.2.0 <%s>: temporary failure (test address)" % address
        if local_part == REJECT_LOCAL_PART:
            return "550 5.1.1 <%s>: recipient rejected (test address)" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        per_recipient = getattr(envelope, "smtpwire_rcpts", [])
        per_recipient.append((address, rcpt_options))
        envelope.smtpwire_rcpts = per_recipient
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        peer = session.peer
        lines = [
            envelope_line("Peer", "%s:%s" % (peer[0], peer[1]) if peer else "?"),
            envelope_line("Helo", session.host_name or ""),
            envelope_line("Tls", tls_description(server)),
            envelope_line("Auth", session.auth_data if session.authenticated else "none"),
            envelope_line("Mail-From", angle_address(envelope.mail_from)),
            envelope_line("Mail-Options", " ".join(envelope.mail_options)),
        ]
        for address, options in getattr(envelope, "smtpwire_rcpts", []):
            lines.append(envelope_line("Rcpt-To", " ".join([angle_address(address)] + options)))
        data = envelope.original_content or b""
        lines.append(envelope_line("Data-Length", str(len(data))))
        name = "%d.%d_%d.smtpwire" % (time.time_ns(), os.getpid(), next(self.sequence))
        tmp_path = os.path.join(self.tmp_dir, name)
        with open(tmp_path, "wb") as file:
            file.write(b"".join(lines))
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.rename(tmp_path, os.path.join(self.new_dir, name))
        log.info("stored %s (%d bytes) from %s", name, len(data), envelope.mail_from)
        return "250 2.0.0 OK stored as %s" % name


def make_tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def serve(args):
    with open(args.password_file, encoding="utf-8") as file:
        password = file.read().strip("\r\n")
    authenticator = Authenticator(args.user, password)
    handler = MaildirHandler(args.maildir)
    tls_context = make_tls_context(args.cert, args.key)
    loop = asyncio.get_running_loop()

    def smtp_factory(implicit_tls):
        def factory():
            return SMTP(
                handler,
                hostname="localhost",
                data_size_limit=DATA_SIZE_LIMIT,
                enable_SMTPUTF8=True,
                decode_data=False,
                # Implicit TLS needs no STARTTLS; aiosmtpd only counts STARTTLS as
                # "TLS is up", so AUTH is allowed outright on the implicit-TLS port.
                tls_context=None if implicit_tls else tls_context,
                authenticator=authenticator,
                auth_require_tls=not implicit_tls,
                loop=loop,
            )

        return factory

    servers = [
        await loop.create_server(
            smtp_factory(False), host=args.host, port=args.port, family=socket.AF_INET
        ),
        await loop.create_server(
            smtp_factory(True),
            host=args.host,
            port=args.smtps_port,
            family=socket.AF_INET,
            ssl=tls_context,
        ),
    ]
    log.info("listening on %s:%d (STARTTLS) and %s:%d (implicit TLS)",
             args.host, args.port, args.host, args.smtps_port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    log.info("stopped")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--smtps-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    if args.host != "127.0.0.1":
        parser.error("only 127.0.0.1 is allowed")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
