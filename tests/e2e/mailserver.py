#!/usr/bin/python3
"""A real SMTP server for end-to-end tests: aiosmtpd (Debian's python3-aiosmtpd) standing in for the
organisation's mail server or a team mailbox. It listens on loopback (port 0 by default), prints the
port it got as the first line of standard output, and writes every message it accepts into a
directory. Stop it by PID (SIGTERM). Run with /usr/bin/python3 (Debian's python3-* live there).

    /usr/bin/python3 tests/e2e/mailserver.py --out DIR [options]

Each accepted message becomes DIR/NNNNNN.eml (the bytes as received, dot-unstuffed) and then
DIR/NNNNNN.json (written last, atomically — poll for it):
    {"mail_from", "rcpt_tos", "mail_options", "rcpt_options", "peer", "ehlo", "tls" (protocol
     version or null), "auth_user" (or null), "size", "sha256", "packets"}
"packets" lists, per network read before DATA, the SMTP verbs it held: [["MAIL", "RCPT", "DATA"]]
shows a pipelined group, [["MAIL"], ["RCPT"], ["DATA"]] one command at a time. "data_reads" counts
the network reads after the one that held DATA, up to the end of data (plain connections only).

Options:
  --host ADDR            listen address (default 127.0.0.1; loopback only)
  --port N               port (default 0: the kernel picks one)
  --hostname NAME        name in the greeting and EHLO reply (default mail.test)
  --tls-dir DIR          offer STARTTLS with DIR/cert.pem and DIR/key.pem; if they are missing, make a
                         test CA (DIR/ca.pem) and a server certificate it signed for --tls-names
  --tls-names N,N        names in that certificate (default localhost,127.0.0.1,::1)
  --tls-max-version V    highest TLS version offered (1.1, 1.2, 1.3), to test clients that refuse old ones
  --require-tls          refuse MAIL before STARTTLS
  --auth USER:PASSWORD   offer AUTH (after STARTTLS) and accept this user (repeatable)
  --auth-in-clear        offer AUTH before STARTTLS as well
  --auth-exclude MECH    do not offer this mechanism (e.g. PLAIN, to force LOGIN)
  --pipelining           advertise PIPELINING (RFC 2920)
  --size-limit BYTES     SIZE limit (default 64 MiB)
  --rcpt-reply GLOB=REPLY  reply REPLY (e.g. "550 5.1.1 No such user") to RCPT TO for addresses
                         matching GLOB (fnmatch, case-insensitive; repeatable, first match wins)
  --data-reply REPLY     reply REPLY to the end of data instead of accepting the message
  --delay-data-reply S   wait S seconds before replying to the end of data
  --stall-greeting       accept connections but never send a greeting (client timeout tests)
  --idle-timeout S       close a connection idle for S seconds with 421 (default 300, as RFC 5321 asks)

Can also be imported: make_test_pki(directory, names) creates the CA and server certificate.
"""
import argparse
import asyncio
import fnmatch
import hashlib
import ipaddress
import json
import os
import pathlib
import ssl
import subprocess
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

VERBS = {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "STARTTLS", "AUTH", "VRFY"}


def make_test_pki(directory, names=("localhost", "127.0.0.1", "::1")):
    """Creates DIR/ca.pem (a test CA) and DIR/cert.pem + DIR/key.pem (a server certificate it signed
    for `names`) with the openssl command, unless cert.pem and key.pem already exist."""
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if (d / "cert.pem").exists() and (d / "key.pem").exists():
        return d
    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"), "-days", "2",
        "-subj", "/CN=Sinetti test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", str(d / "key.pem"), "-out", str(d / "server.csr"), "-subj", f"/CN={names[0]}")
    alt = ",".join(("IP:" if _is_ip(n) else "DNS:") + n for n in names)
    (d / "server.ext").write_text(f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\n"
                                  "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
        "-CAcreateserial", "-out", str(d / "cert.pem"), "-days", "2", "-extfile", str(d / "server.ext"))
    return d


def _is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Handler:
    def __init__(self, args):
        self.args = args
        self.out = pathlib.Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.rcpt_replies = []
        for spec in args.rcpt_reply:
            glob, _, reply = spec.partition("=")
            self.rcpt_replies.append((glob.lower(), reply))

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for glob, reply in self.rcpt_replies:
            if fnmatch.fnmatch(address.lower(), glob):
                return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.delay_data_reply:
            await asyncio.sleep(self.args.delay_data_reply)
        if self.args.data_reply:
            return self.args.data_reply
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        self.count += 1
        stem = f"{self.count:06d}"
        (self.out / f"{stem}.eml").write_bytes(content)
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "peer": list(session.peer) if session.peer else None,
            "ehlo": session.host_name,
            "tls": ssl_object.version() if ssl_object is not None else None,
            "auth_user": _auth_user(session),
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "packets": getattr(server, "packets", []),
            "data_reads": getattr(server, "data_reads", 0),
        }
        tmp = self.out / f".{stem}.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.out / f"{stem}.json")
        return f"250 2.0.0 Ok: queued as {stem}"


def _auth_user(session):
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return None


class RecordingSMTP(SMTP):
    """Records which SMTP verbs arrived in each network read, up to DATA (to see pipelining)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.packets = []
        self.data_reads = 0
        self._recording = True

    def data_received(self, data):
        if not self._recording:
            self.data_reads += 1
        else:
            verbs = []
            for line in data.split(b"\n"):
                word = line.strip().split(b" ", 1)[0].split(b":", 1)[0].upper().decode("ascii", "replace")
                if word in VERBS:
                    verbs.append(word)
                    if word == "DATA":
                        self._recording = False
                        break
            if verbs:
                self.packets.append(verbs)
        super().data_received(data)


def make_authenticator(users):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            if users.get(user) == auth_data.password.decode("utf-8", "replace"):
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticate


async def serve(args):
    loop = asyncio.get_running_loop()
    if args.stall_greeting:
        async def stall(reader, writer):
            try:
                await reader.read()  # until the client gives up
            finally:
                writer.close()
        server = await asyncio.start_server(stall, args.host, args.port)
    else:
        tls_context = None
        if args.tls_dir:
            d = make_test_pki(args.tls_dir, tuple(args.tls_names.split(",")))
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(str(d / "cert.pem"), str(d / "key.pem"))
            if args.tls_max_version:
                tls_context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                tls_context.maximum_version = {"1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2,
                                               "1.3": ssl.TLSVersion.TLSv1_3}[args.tls_max_version]
        users = dict(u.split(":", 1) for u in args.auth)
        handler = Handler(args)
        kwargs = dict(hostname=args.hostname, ident="Sinetti test mail server", data_size_limit=args.size_limit,
                      enable_SMTPUTF8=True, decode_data=False, tls_context=tls_context,
                      require_starttls=args.require_tls, timeout=args.idle_timeout)
        if users:
            kwargs.update(authenticator=make_authenticator(users), auth_require_tls=not args.auth_in_clear,
                          auth_exclude_mechanism=args.auth_exclude)
        else:
            kwargs.update(auth_exclude_mechanism=["LOGIN", "PLAIN"])
        server = await loop.create_server(lambda: RecordingSMTP(handler, loop=loop, **kwargs), args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


def parse_args(argv):
    p = argparse.ArgumentParser(description="Test SMTP server (aiosmtpd) that stores what it receives.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--hostname", default="mail.test")
    p.add_argument("--out", default=None)
    p.add_argument("--tls-dir")
    p.add_argument("--tls-names", default="localhost,127.0.0.1,::1")
    p.add_argument("--tls-max-version", choices=["1.1", "1.2", "1.3"])
    p.add_argument("--require-tls", action="store_true")
    p.add_argument("--auth", action="append", default=[])
    p.add_argument("--auth-in-clear", action="store_true")
    p.add_argument("--auth-exclude", action="append", default=[])
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--size-limit", type=int, default=64 * 1024 * 1024)
    p.add_argument("--rcpt-reply", action="append", default=[])
    p.add_argument("--data-reply")
    p.add_argument("--delay-data-reply", type=float, default=0)
    p.add_argument("--stall-greeting", action="store_true")
    p.add_argument("--idle-timeout", type=float, default=300)
    args = p.parse_args(argv)
    if args.out is None and not args.stall_greeting:
        p.error("--out DIR is required")
    return args


def main(argv=None):
    # aiosmtpd 1.4 warns about its own use of Session.login_data; nothing to act on here.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
