#!/usr/bin/env python3
"""Smoke test of the servers started by start.sh, with Python's stdlib only.

Reads the SMTPWIRE_* variables that start.sh exports (check.sh loads them).
Every network wait is bounded; the checks are independent and run side by side.
Prints one line per check and a closing "N passed, N failed" line; exits 1 if
any check failed.
"""

import concurrent.futures
import os
import smtplib
import socket
import ssl
import sys
import time
import traceback
import uuid

NETWORK_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 15.0
# smtp-sink sleeps a whole second; allow for timer granularity, never less than 0.9 s.
DELAY_LOWER_BOUND = 0.9
LARGE_SIZE = 50 * 1000 * 1000
PARALLEL_CHECKS = 8


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("check_servers.py: %s is not set (source DIR/env first)" % name)
    return value


def host_port(name):
    host, _, port = env(name).rpartition(":")
    return host, int(port)


DOMAIN = env("SMTPWIRE_POSTFIX_DOMAIN")


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def new_id():
    return uuid.uuid4().hex


def make_message(check_id, sender, recipient, extra_body=b""):
    """A small message with CRLF line endings, a unique header and a line that needs dot-stuffing."""
    return (
        b"From: <" + sender.encode("utf-8") + b">\r\n"
        b"To: <" + recipient.encode("utf-8") + b">\r\n"
        b"Subject: smtpwire server check\r\n"
        b"X-Check-Id: " + check_id.encode("ascii") + b"\r\n"
        b"\r\n"
        b"first line\r\n"
        b".a line that starts with a dot\r\n" + extra_body + b"last line\r\n"
    )


def tls_context(ca_env):
    return ssl.create_default_context(cafile=env(ca_env))


def wait_for_files(directory, needle, count=1):
    """Files in `directory` whose bytes contain `needle`; waits until `count` are there."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        found = []
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                if needle in file.read():
                    found.append(path)
        if len(found) >= count or time.monotonic() > deadline:
            expect(len(found) == count, "expected %d file(s) with %r in %s, found %d"
                   % (count, needle, directory, len(found)))
            return found
        time.sleep(0.05)


def read_file(path):
    with open(path, "rb") as file:
        return file.read()


def header_names(block):
    """Names of the header fields in `block` (LF line endings, continuation lines folded in)."""
    names = []
    for line in block.split(b"\n"):
        if line and line[:1] not in (b" ", b"\t"):
            names.append(line.split(b":", 1)[0].decode("ascii"))
    return names


# ------------------------------------------------------------------ Postfix

POSTFIX_ADDED_HEADERS = ["Return-Path", "X-Original-To", "Delivered-To", "Received"]


def postfix_delivered(check_id, message, recipients):
    """Checks one Maildir file per recipient holding exactly Postfix's headers + `message`."""
    maildir_new = os.path.join(env("SMTPWIRE_POSTFIX_MAILDIR"), "new")
    paths = wait_for_files(maildir_new, check_id.encode("ascii"), count=len(recipients))
    # Maildir files hold the message with LF line endings (and dot-unstuffed).
    message_lf = message.replace(b"\r\n", b"\n")
    delivered_to = []
    received = []
    for path in paths:
        content = read_file(path)
        expect(content.endswith(message_lf), "%s does not end with the message sent" % path)
        added = content[: len(content) - len(message_lf)]
        expect(header_names(added) == POSTFIX_ADDED_HEADERS,
               "Postfix added %r, expected %r" % (header_names(added), POSTFIX_ADDED_HEADERS))
        for line in added.split(b"\n"):
            if line.startswith(b"Delivered-To: "):
                delivered_to.append(line[len(b"Delivered-To: "):].decode("utf-8"))
        received.append(added)
    expect(sorted(delivered_to) == sorted(recipients),
           "Delivered-To %r, expected %r" % (delivered_to, recipients))
    return received


def postfix_smtp():
    return smtplib.SMTP(*host_port("SMTPWIRE_POSTFIX_ADDR"), timeout=NETWORK_TIMEOUT)


def check_postfix_ehlo():
    with postfix_smtp() as smtp:
        code, _ = smtp.ehlo("check.localhost")
        expect(code == 250, "EHLO answered %d" % code)
        for keyword in ("starttls", "pipelining", "chunking", "8bitmime", "smtputf8", "dsn",
                        "enhancedstatuscodes"):
            expect(smtp.has_extn(keyword), "EHLO lacks %s" % keyword)
        expect(int(smtp.esmtp_features["size"]) >= LARGE_SIZE, "SIZE below 50 MB")
        expect(not smtp.has_extn("auth"), "AUTH offered before STARTTLS")
        code, _ = smtp.docmd("MAIL FROM:<size@%s> SIZE=%d" % (DOMAIN, LARGE_SIZE))
        expect(code == 250, "MAIL with SIZE=%d answered %d" % (LARGE_SIZE, code))
        smtp.rset()
        too_big = int(smtp.esmtp_features["size"]) + 1
        code, _ = smtp.docmd("MAIL FROM:<size@%s> SIZE=%d" % (DOMAIN, too_big))
        expect(code == 552, "MAIL with SIZE over the limit answered %d" % code)


def check_postfix_plain_delivery():
    check_id = new_id()
    recipients = ["plain-%s@%s" % (check_id, DOMAIN), "second@%s" % DOMAIN]
    message = make_message(check_id, "sender@example.org", recipients[0])
    with postfix_smtp() as smtp:
        refused = smtp.sendmail("sender@example.org", recipients, message)
        expect(refused == {}, "refused: %r" % refused)
    received = postfix_delivered(check_id, message, recipients)
    expect(b"using TLS" not in received[0], "plain delivery claims TLS")


def check_postfix_refusals():
    with postfix_smtp() as smtp:
        smtp.ehlo("check.localhost")
        code, _ = smtp.mail("sender@example.org")
        expect(code == 250, "MAIL answered %d" % code)
        for recipient, wanted in (("someone@example.com", 554), ("rcpt-tempfail@" + DOMAIN, 450),
                                  ("rcpt-reject@" + DOMAIN, 550), ("ok@" + DOMAIN, 250)):
            code, text = smtp.rcpt(recipient)
            expect(code == wanted, "RCPT %s answered %d %r, expected %d"
                   % (recipient, code, text, wanted))


def check_postfix_starttls_auth():
    check_id = new_id()
    recipient = "starttls-%s@%s" % (check_id, DOMAIN)
    message = make_message(check_id, "sender@" + DOMAIN, recipient)
    with postfix_smtp() as smtp:
        smtp.ehlo("check.localhost")
        code, _ = smtp.starttls(context=tls_context("SMTPWIRE_POSTFIX_CA"))
        expect(code == 220, "STARTTLS answered %d" % code)
        smtp.ehlo("check.localhost")
        expect(not smtp.has_extn("starttls"), "STARTTLS still offered after TLS")
        mechanisms = smtp.esmtp_features.get("auth", "").split()
        expect("PLAIN" in mechanisms and "LOGIN" in mechanisms, "AUTH offers %r" % mechanisms)
        try:
            smtp.auth("PLAIN", lambda challenge=None: "\0%s\0wrong" % env("SMTPWIRE_POSTFIX_USER"))
            raise CheckFailed("a wrong password was accepted")
        except smtplib.SMTPAuthenticationError as error:
            expect(error.smtp_code == 535, "wrong password answered %d" % error.smtp_code)
        smtp.user, smtp.password = env("SMTPWIRE_POSTFIX_USER"), env("SMTPWIRE_POSTFIX_PASSWORD")
        code, _ = smtp.auth("PLAIN", smtp.auth_plain)
        expect(code == 235, "AUTH PLAIN answered %d" % code)
        smtp.mail("sender@" + DOMAIN)
        code, _ = smtp.rcpt("someone@example.com")
        expect(code == 554, "relay after AUTH answered %d, expected 554" % code)
        smtp.rset()
        refused = smtp.sendmail("sender@" + DOMAIN, [recipient], message)
        expect(refused == {}, "refused: %r" % refused)
    received = postfix_delivered(check_id, message, [recipient])[0]
    expect(b"using TLS" in received, "Received header does not record TLS")
    expect(b"Authenticated sender: %s" % env("SMTPWIRE_POSTFIX_USER").encode() in received,
           "Received header does not record the authenticated user")


def check_postfix_smtps_auth_login():
    check_id = new_id()
    recipient = "smtps-%s@%s" % (check_id, DOMAIN)
    message = make_message(check_id, "sender@example.org", recipient)
    host, port = host_port("SMTPWIRE_POSTFIX_SMTPS_ADDR")
    # Verify the certificate against the IP address too (subjectAltName IP:127.0.0.1).
    with smtplib.SMTP_SSL(host, port, timeout=NETWORK_TIMEOUT,
                          context=tls_context("SMTPWIRE_POSTFIX_CA")) as smtp:
        smtp.ehlo("check.localhost")
        expect(not smtp.has_extn("starttls"), "STARTTLS offered on the implicit-TLS port")
        smtp.user, smtp.password = env("SMTPWIRE_POSTFIX_USER"), env("SMTPWIRE_POSTFIX_PASSWORD")
        code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
        expect(code == 235, "AUTH LOGIN answered %d" % code)
        smtp.sendmail("sender@example.org", [recipient], message)
    received = postfix_delivered(check_id, message, [recipient])[0]
    expect(b"using TLS" in received and b"Authenticated sender" in received,
           "Received header does not record TLS and AUTH")


def check_postfix_certificate_names():
    host, port = host_port("SMTPWIRE_POSTFIX_SMTPS_ADDR")
    for name, should_verify in (("localhost", True), ("127.0.0.1", True), ("wrong.example", False)):
        raw = socket.create_connection((host, port), timeout=NETWORK_TIMEOUT)
        try:
            tls = tls_context("SMTPWIRE_POSTFIX_CA").wrap_socket(raw, server_hostname=name)
            tls.close()
            expect(should_verify, "certificate verified for %s" % name)
        except ssl.SSLCertVerificationError:
            expect(not should_verify, "certificate did not verify for %s" % name)
        finally:
            raw.close()


class RawSession:
    """A bare SMTP conversation, to see exactly what a server sends (or does not)."""

    def __init__(self, addr_env):
        self.sock = socket.create_connection(host_port(addr_env), timeout=NETWORK_TIMEOUT)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buffer:
            expect(len(self.buffer) < 65536, "reply line too long")
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:  # closed with unread data: still a close
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def reply(self):
        """(code, [lines]) of one whole reply, or None if the server closed first."""
        lines = []
        for _ in range(1000):
            line = self._line()
            if line is None:
                expect(not lines, "connection closed inside a reply: %r" % lines)
                return None
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), lines
        raise CheckFailed("reply with more than 1000 lines")

    def expect_closed(self):
        extra = self.reply()
        expect(extra is None, "expected the connection to close, got %r" % (extra,))


def check_postfix_pipelining_and_bdat():
    check_id = new_id()
    recipients = ["pipe-%s@%s" % (check_id, DOMAIN), "bdat-%s@%s" % (check_id, DOMAIN)]
    message = make_message(check_id, "sender@example.org", recipients[0])
    session = RawSession("SMTPWIRE_POSTFIX_ADDR")
    try:
        expect(session.reply()[0] == 220, "no 220 greeting")
        session.send(b"EHLO check.localhost\r\n")
        expect(session.reply()[0] == 250, "EHLO failed")
        # MAIL, both RCPTs and the first BDAT chunk in one write (PIPELINING + CHUNKING).
        half = len(message) // 2
        session.send(b"MAIL FROM:<sender@example.org> BODY=8BITMIME\r\n"
                     + b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in recipients)
                     + b"BDAT %d\r\n" % half + message[:half])
        codes = [session.reply()[0] for _ in range(4)]
        expect(codes == [250, 250, 250, 250], "pipelined replies %r" % codes)
        session.send(b"BDAT %d LAST\r\n" % (len(message) - half) + message[half:])
        code, lines = session.reply()
        expect(code == 250, "BDAT LAST answered %r" % lines)
        session.send(b"QUIT\r\n")
        expect(session.reply()[0] == 221, "QUIT not answered 221")
    finally:
        session.close()
    # BDAT carries the bytes as they are, without dot-stuffing.
    postfix_delivered(check_id, message, recipients)


def check_postfix_smtputf8():
    check_id = new_id()
    recipient = "用户-%s@%s" % (check_id, DOMAIN)
    message = make_message(check_id, "发件人@example.org", recipient, "Grüße\r\n".encode("utf-8"))
    with postfix_smtp() as smtp:
        smtp.ehlo("check.localhost")
        smtp.command_encoding = "utf-8"
        refused = smtp.sendmail("发件人@example.org", [recipient], message,
                                mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        expect(refused == {}, "refused: %r" % refused)
    postfix_delivered(check_id, message, [recipient])


# ------------------------------------------------------------------ smtp-sink


def check_sink_accepts_and_dumps():
    check_id = new_id()
    session = RawSession("SMTPWIRE_SINK_ADDR")
    try:
        expect(session.reply()[0] == 220, "no 220 greeting")
        session.send(b"EHLO check.localhost\r\n")
        code, lines = session.reply()
        expect(code == 250 and b"250-PIPELINING\r\n" in lines, "EHLO %r lacks PIPELINING" % lines)
        expect(lines[-1] == b"250 \r\n", "smtp-sink's last EHLO line changed: %r" % lines[-1])
        session.send(b"AUTH PLAIN AGEAYg==\r\n")
        code, _ = session.reply()
        expect(code == 250, "smtp-sink answered AUTH with %d (documented quirk: 250)" % code)
        message = make_message(check_id, "a@example.org", "b@example.org")
        session.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        codes = [session.reply()[0] for _ in range(3)]
        expect(codes == [250, 250, 354], "pipelined replies %r" % codes)
        session.send(message.replace(b"\r\n.", b"\r\n..") + b".\r\nQUIT\r\n")
        expect(session.reply()[0] == 250, "final dot not accepted")
        expect(session.reply()[0] == 221, "QUIT not answered 221")
    finally:
        session.close()
    dump = read_file(wait_for_files(env("SMTPWIRE_SINK_DUMP_DIR"), check_id.encode())[0])
    expect(b"X-Mail-Args: <a@example.org>\nX-Rcpt-Args: <b@example.org>\n" in dump,
           "dump lacks the envelope")
    # The dump holds the message dot-unstuffed, with LF line endings and one more empty line.
    expect(dump.endswith(message.replace(b"\r\n", b"\n") + b"\n"), "dump differs from the message")


def transaction(session, stop_after):
    """Greeting, EHLO, MAIL, RCPT, DATA, message and dot, RSET, QUIT: stops after `stop_after`."""
    steps = [("greeting", None), ("EHLO", b"EHLO check.localhost\r\n"),
             ("MAIL", b"MAIL FROM:<a@example.org>\r\n"), ("RCPT", b"RCPT TO:<b@example.org>\r\n"),
             ("DATA", b"DATA\r\n"), (".", b"Subject: x\r\n\r\nbody\r\n.\r\n"),
             ("RSET", b"RSET\r\n"), ("QUIT", b"QUIT\r\n")]
    for name, command in steps:
        if command is not None:
            session.send(command)
        started = time.monotonic()
        reply = session.reply()
        elapsed = time.monotonic() - started
        if name == stop_after:
            return reply, elapsed
        expect(reply is not None and reply[0] in (220, 250, 354),
               "%s answered %r before the fault step" % (name, reply))
    raise CheckFailed("unknown step %s" % stop_after)


# (variable suffix, step where the fault shows, expected code or None for a close
#  without reply, close expected right after that reply, minimum delay in seconds,
#  code of a reply that follows unasked or None)
SINK_FAULTS = [
    ("421_GREETING", "greeting", 421, True, 0, None),
    ("4XX_GREETING", "greeting", 450, False, 0, None),
    ("5XX_GREETING", "greeting", 500, False, 0, None),
    ("DISCONNECT_GREETING", "greeting", None, True, 0, None),
    ("DELAY_GREETING", "greeting", 220, False, DELAY_LOWER_BOUND, None),
    ("NOESMTP", "EHLO", 500, False, 0, None),
    ("421_MAIL", "MAIL", 421, True, 0, None),
    ("DISCONNECT_MAIL", "MAIL", None, True, 0, None),
    ("4XX_MAIL", "MAIL", 450, False, 0, None),
    ("5XX_MAIL", "MAIL", 500, False, 0, None),
    ("DELAY", "MAIL", 250, False, DELAY_LOWER_BOUND, None),
    ("421_RCPT", "RCPT", 421, True, 0, None),
    ("4XX_RCPT", "RCPT", 450, False, 0, None),
    ("5XX_RCPT", "RCPT", 500, False, 0, None),
    ("5XX_DATA", "DATA", 500, False, 0, None),
    ("DELAY_DATA", "DATA", 354, False, DELAY_LOWER_BOUND, None),
    ("421_DOT", ".", 421, True, 0, None),
    ("DISCONNECT_DOT", ".", None, True, 0, None),
    ("4XX_DOT", ".", 450, False, 0, None),
    ("5XX_DOT", ".", 500, False, 0, None),
    ("DELAY_DOT", ".", 250, False, DELAY_LOWER_BOUND, None),
    ("ABORT_DATA", "DATA", 354, True, 0, 550),
    ("421_RSET", "RSET", 421, True, 0, None),
    ("DISCONNECT_QUIT", "QUIT", None, True, 0, None),
]


def sink_fault_check(suffix, step, code, closes, min_delay, unsolicited):
    def check():
        session = RawSession("SMTPWIRE_SINK_%s_ADDR" % suffix)
        try:
            reply, elapsed = transaction(session, step)
            if code is None:
                expect(reply is None, "%s answered %r, expected a close" % (step, reply))
            else:
                expect(reply is not None and reply[0] == code,
                       "%s answered %r, expected %d" % (step, reply, code))
            expect(elapsed >= min_delay, "%s answered after %.2fs, expected >= %.1fs"
                   % (step, elapsed, min_delay))
            if unsolicited is not None:
                extra = session.reply()
                expect(extra is not None and extra[0] == unsolicited,
                       "expected an unsolicited %d, got %r" % (unsolicited, extra))
            if closes and reply is not None:
                session.expect_closed()
        finally:
            session.close()

    check.__name__ = "check_sink_%s" % suffix.lower()
    return check


def check_every_sink_mode_is_checked():
    """A fault mode added to start.sh without a check here fails this check."""
    checked = {fault[0] for fault in SINK_FAULTS} | {"NOPIPELINING"}
    exported = {name[len("SMTPWIRE_SINK_"):-len("_ADDR")] for name in os.environ
                if name.startswith("SMTPWIRE_SINK_") and name.endswith("_ADDR")
                and name != "SMTPWIRE_SINK_ADDR"}
    expect(exported == checked, "unchecked modes %r, missing modes %r"
           % (sorted(exported - checked), sorted(checked - exported)))


def check_sink_nopipelining():
    session = RawSession("SMTPWIRE_SINK_NOPIPELINING_ADDR")
    try:
        reply, _ = transaction(session, "EHLO")
        expect(reply[0] == 250 and not any(b"PIPELINING" in line for line in reply[1]),
               "EHLO %r" % (reply,))
    finally:
        session.close()
    with smtplib.SMTP(*host_port("SMTPWIRE_SINK_NOPIPELINING_ADDR"), timeout=NETWORK_TIMEOUT) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nbody\r\n")


def check_sink_noesmtp_helo():
    with smtplib.SMTP(*host_port("SMTPWIRE_SINK_NOESMTP_ADDR"), timeout=NETWORK_TIMEOUT) as smtp:
        code, _ = smtp.ehlo("check.localhost")
        expect(code == 500, "EHLO answered %d" % code)
        code, _ = smtp.helo("check.localhost")
        expect(code == 250, "HELO answered %d" % code)
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nbody\r\n")


# ------------------------------------------------------------------ aiosmtpd


def aiosmtpd_stored(check_id, message):
    """Parses the one file holding `check_id`: returns the envelope lines as a dict of lists."""
    new_dir = os.path.join(env("SMTPWIRE_AIOSMTPD_MAILDIR"), "new")
    content = read_file(wait_for_files(new_dir, check_id.encode("ascii"))[0])
    # Envelope lines come first; X-Smtpwire-Data-Length is the last of them.
    envelope = {}
    rest = content
    while "Data-Length" not in envelope:
        line, _, rest = rest.partition(b"\r\n")
        expect(line.startswith(b"X-Smtpwire-"), "not an envelope line: %r" % line)
        name, _, value = line[len(b"X-Smtpwire-"):].partition(b": ")
        envelope.setdefault(name.decode("ascii"), []).append(value.decode("utf-8"))
    expect(envelope["Data-Length"] == [str(len(rest))], "Data-Length %r" % envelope)
    expect(rest == message, "stored data differs from the message sent")
    return envelope


def aiosmtpd_smtp():
    return smtplib.SMTP(*host_port("SMTPWIRE_AIOSMTPD_ADDR"), timeout=NETWORK_TIMEOUT)


def check_aiosmtpd_plain():
    check_id = new_id()
    message = make_message(check_id, "sender@example.org", "rcpt@" + DOMAIN)
    with aiosmtpd_smtp() as smtp:
        smtp.ehlo("check.localhost")
        for keyword in ("starttls", "8bitmime", "smtputf8", "size"):
            expect(smtp.has_extn(keyword), "EHLO lacks %s" % keyword)
        expect(not smtp.has_extn("auth"), "AUTH offered before STARTTLS")
        code, _ = smtp.docmd("AUTH PLAIN AGEAYg==")
        expect(code == 538, "AUTH before TLS answered %d, expected 538" % code)
        smtp.mail("sender@example.org", ["BODY=8BITMIME"])
        for local_part, wanted in (("rcpt-tempfail", 450), ("rcpt-reject", 550), ("rcpt", 250),
                                   ("second", 250)):
            code, _ = smtp.rcpt("%s@%s" % (local_part, DOMAIN))
            expect(code == wanted, "RCPT %s answered %d, expected %d" % (local_part, code, wanted))
        code, _ = smtp.data(message)
        expect(code == 250, "DATA answered %d" % code)
    envelope = aiosmtpd_stored(check_id, message)
    expect(envelope["Tls"] == ["none"] and envelope["Auth"] == ["none"], "envelope %r" % envelope)
    expect(envelope["Mail-From"] == ["<sender@example.org>"], "envelope %r" % envelope)
    expect(envelope["Mail-Options"] == ["BODY=8BITMIME"], "envelope %r" % envelope)
    expect(envelope["Rcpt-To"] == ["<rcpt@%s>" % DOMAIN, "<second@%s>" % DOMAIN],
           "envelope %r" % envelope)
    expect(envelope["Helo"] == ["check.localhost"], "envelope %r" % envelope)


def check_aiosmtpd_starttls_auth():
    user, password = env("SMTPWIRE_AIOSMTPD_USER"), env("SMTPWIRE_AIOSMTPD_PASSWORD")
    for mechanism in ("PLAIN", "LOGIN"):
        check_id = new_id()
        message = make_message(check_id, "sender@" + DOMAIN, "rcpt@" + DOMAIN)
        with aiosmtpd_smtp() as smtp:
            smtp.ehlo("check.localhost")
            code, _ = smtp.starttls(context=tls_context("SMTPWIRE_AIOSMTPD_CA"))
            expect(code == 220, "STARTTLS answered %d" % code)
            smtp.ehlo("check.localhost")
            offered = smtp.esmtp_features.get("auth", "").split()
            expect("PLAIN" in offered and "LOGIN" in offered, "AUTH offers %r" % offered)
            smtp.user, smtp.password = user, "wrong"
            try:
                smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower()))
                raise CheckFailed("a wrong password was accepted")
            except smtplib.SMTPAuthenticationError as error:
                expect(error.smtp_code == 535, "wrong password answered %d" % error.smtp_code)
            smtp.password = password
            code, _ = smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower()))
            expect(code == 235, "AUTH %s answered %d" % (mechanism, code))
            smtp.sendmail("sender@" + DOMAIN, ["rcpt@" + DOMAIN], message)
        envelope = aiosmtpd_stored(check_id, message)
        expect(envelope["Tls"][0].startswith("starttls TLSv1."), "envelope %r" % envelope)
        expect(envelope["Auth"] == [user], "envelope %r" % envelope)


def check_aiosmtpd_smtps():
    check_id = new_id()
    message = make_message(check_id, "sender@example.org", "rcpt@" + DOMAIN)
    host, port = host_port("SMTPWIRE_AIOSMTPD_SMTPS_ADDR")
    with smtplib.SMTP_SSL(host, port, timeout=NETWORK_TIMEOUT,
                          context=tls_context("SMTPWIRE_AIOSMTPD_CA")) as smtp:
        smtp.ehlo("check.localhost")
        expect(not smtp.has_extn("starttls"), "STARTTLS offered on the implicit-TLS port")
        code, _ = smtp.login(env("SMTPWIRE_AIOSMTPD_USER"), env("SMTPWIRE_AIOSMTPD_PASSWORD"))
        expect(code == 235, "AUTH answered %d" % code)
        smtp.sendmail("", ["rcpt@" + DOMAIN], message)  # the null reverse-path, as in a bounce
    envelope = aiosmtpd_stored(check_id, message)
    expect(envelope["Mail-From"] == ["<>"], "envelope %r" % envelope)
    expect(envelope["Tls"][0].startswith("implicit TLSv1."), "envelope %r" % envelope)
    expect(envelope["Auth"] == [env("SMTPWIRE_AIOSMTPD_USER")], "envelope %r" % envelope)


CHECKS = [
    check_postfix_ehlo,
    check_postfix_plain_delivery,
    check_postfix_refusals,
    check_postfix_starttls_auth,
    check_postfix_smtps_auth_login,
    check_postfix_certificate_names,
    check_postfix_pipelining_and_bdat,
    check_postfix_smtputf8,
    check_sink_accepts_and_dumps,
    check_sink_nopipelining,
    check_every_sink_mode_is_checked,
    check_sink_noesmtp_helo,
] + [sink_fault_check(*fault) for fault in SINK_FAULTS] + [
    check_aiosmtpd_plain,
    check_aiosmtpd_starttls_auth,
    check_aiosmtpd_smtps,
]


def run_check(check):
    """Runs one check: (name, seconds, None if it passed or a failure description)."""
    started = time.monotonic()
    failure = None
    try:
        check()
    except Exception as error:  # report every failure, keep checking the others
        failure = "%s: %s" % (type(error).__name__, error)
        if not isinstance(error, (CheckFailed, OSError, smtplib.SMTPException)):
            failure += "\n" + traceback.format_exc()
    return check.__name__, time.monotonic() - started, failure


def main():
    # The checks are independent: run them side by side (the delay modes sleep 1 s each),
    # report in a fixed order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_CHECKS) as pool:
        results = list(pool.map(run_check, CHECKS))
    failed = 0
    for name, seconds, failure in results:
        print("%-40s %5.2fs %s" % (name, seconds, "ok" if failure is None else "FAILED: " + failure))
        failed += failure is not None
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
