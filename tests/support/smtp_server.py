#!/usr/bin/env python3
"""A local SMTP server for tenderscan's tests (aiosmtpd).

Stores every message it accepts, byte for byte, in a Maildir (prefixed with
X-Envelope-From / X-Envelope-To lines), and can inject faults:
  --delay SECONDS        store the message, then wait before answering 250
                         (a client killed during the wait leaves a message the server took)
  --delay-rcpt ADDRESS   with --delay: wait only for messages to this address (repeatable)
  --reject-rcpt ADDRESS  answer 550 to RCPT TO for this address (repeatable)
  --tls-cert/--tls-key   offer STARTTLS (required), or with --implicit-tls wrap the socket
  --auth USER:PASSWORD   require AUTH (PLAIN/LOGIN, over TLS) with these credentials
Listens on 127.0.0.1 only. Stop it by its process id.
"""
import argparse
import asyncio
import mailbox
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


class Handler:
    def __init__(self, maildir, delay, reject, delay_rcpt=()):
        # Maildir creates the folder (an existing empty folder would not be a Maildir).
        self.box = mailbox.Maildir(maildir, create=True)
        self.delay = delay
        self.reject = {a.lower() for a in reject}
        self.delay_rcpt = {a.lower() for a in delay_rcpt}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
        )
        self.box.add(head.encode("ascii") + raw)
        slow = not self.delay_rcpt or any(
            r.lower() in self.delay_rcpt for r in envelope.rcpt_tos
        )
        if self.delay and slow:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 stored"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--delay-rcpt", action="append", default=[])
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth")
    a = p.parse_args()
    kwargs = {}
    if a.auth:
        user, _, password = a.auth.partition(":")
        kwargs["authenticator"] = Authenticator(user, password)
        kwargs["auth_required"] = True
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.implicit_tls:
            kwargs["ssl_context"] = ctx
        else:
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = True
    handler = Handler(a.maildir, a.delay, a.reject_rcpt, a.delay_rcpt)
    controller = Controller(handler, hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
