"""`sinetti serve` as a real process on loopback: start-up on the development configuration
(self-signed TLS created, state directory private), the admin endpoints, SIGHUP reload that keeps
the old configuration when the new one is invalid, and a clean stop on SIGTERM."""
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

BIN = os.environ["SINETTI_BIN"]
SRC = pathlib.Path(os.environ["SINETTI_SOURCE_DIR"])


class Gateway:
    """Runs `sinetti serve` in a temporary working directory and follows its JSON log on stderr."""

    def __init__(self, config_text, before_start=None):
        self.dir = tempfile.TemporaryDirectory()
        self.cwd = pathlib.Path(self.dir.name)
        self.config = self.cwd / "sinetti.yaml"
        self.config.write_text(config_text)
        if before_start:
            before_start(self.cwd)  # files the configuration refers to
        self.events = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], cwd=self.cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "text", "line": line.rstrip("\n")}
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def wait_for(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if predicate(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self.reader.is_alive():
                    raise AssertionError(f"no such event; log so far: {self.events}")
                self.cond.wait(min(left, 0.2))

    def count(self, predicate):
        with self.cond:
            return sum(1 for e in self.events if predicate(e))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        self.proc.stderr.close()
        self.dir.cleanup()


def dev_config():
    """The development configuration with every listener on a port the kernel picks."""
    text = (SRC / "config" / "examples" / "dev.yaml").read_text()
    for port in ("9090", "2525", "2587", "8443"):
        text = text.replace(f'address: "127.0.0.1:{port}"', 'address: "127.0.0.1:0"')
    return text


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Serve(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway(dev_config())
        self.addCleanup(self.gw.stop)
        listening = self.gw.wait_for(lambda e: e.get("event") == "listening" and e.get("listener") == "admin")
        self.port = int(listening["address"].rsplit(":", 1)[1])
        self.assertNotEqual(self.port, 0)
        self.gw.wait_for(lambda e: e.get("event") == "started")  # signals are handled from here on

    def metrics_eventually(self, line, timeout=10):
        deadline = time.monotonic() + timeout
        while line not in get(self.port, "/metrics")[1]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def test_admin_endpoints(self):
        self.assertEqual(get(self.port, "/healthz"), (200, "ok\n"))
        self.assertEqual(get(self.port, "/readyz")[0], 200)
        status, metrics = get(self.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertRegex(metrics, r"(?m)^sinetti_up 1$")
        self.assertEqual(get(self.port, "/nothing-here")[0], 404)

    def test_allocator_in_force(self):
        # The build links gperftools' tcmalloc into the binary (SINETTI_ALLOCATOR), the sanitizer
        # builds keep the system's malloc; CTest passes which one this build chose.
        expected = os.environ["SINETTI_ALLOCATOR"]
        started = self.gw.wait_for(lambda e: e.get("event") == "started")
        maps = pathlib.Path(f"/proc/{self.gw.proc.pid}/maps").read_text()
        if expected == "tcmalloc":
            self.assertRegex(started.get("allocator", ""), r"^gperftools \d+\.\d+")
            self.assertIn("libtcmalloc_minimal", maps)
        else:
            self.assertEqual(expected, "system")
            self.assertEqual(started.get("allocator"), "system")
            self.assertNotIn("tcmalloc", maps)

    def test_self_signed_tls_and_private_state(self):
        key = self.gw.cwd / "var" / "tls" / "key.pem"
        cert = self.gw.cwd / "var" / "tls" / "cert.pem"
        self.assertTrue(cert.is_file())
        self.assertEqual(key.stat().st_mode & 0o777, 0o600)
        self.assertEqual((self.gw.cwd / "var").stat().st_mode & 0o077, 0)
        out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("IP Address:127.0.0.1", out.stdout)

    def test_reload_keeps_old_config_when_new_one_is_invalid(self):
        good = self.gw.config.read_text()
        self.gw.config.write_text(good.replace("max_message_size: 35MiB", "max_mesage_size: 35MiB"))
        self.gw.proc.send_signal(signal.SIGHUP)
        err = self.gw.wait_for(lambda e: e.get("event") == "config_error")
        self.assertRegex(json.dumps(err), r"sinetti\.yaml:\d+:\d+: unknown key")
        self.gw.wait_for(lambda e: e.get("event") == "config_reload_failed")
        self.assertEqual(get(self.port, "/healthz")[0], 200)  # still serving on the old snapshot
        # The counter moves just after the log line (server.cpp): poll it briefly.
        self.assertTrue(self.metrics_eventually('sinetti_config_reloads_total{result="error"} 1'))
        # A routing error (a regex that does not compile) is refused the same way.
        self.gw.config.write_text(good.replace("routing:\n", "routing:\n  detectors:\n    - {name: x, regex: 'a(b'}\n", 1))
        self.gw.proc.send_signal(signal.SIGHUP)
        self.gw.wait_for(lambda e: e.get("event") == "config_error" and "detector 'x'" in json.dumps(e))
        self.gw.config.write_text(good)
        self.gw.proc.send_signal(signal.SIGHUP)
        self.gw.wait_for(lambda e: e.get("event") == "config_reloaded")
        self.assertTrue(self.metrics_eventually('sinetti_config_reloads_total{result="ok"} 1'))

    def test_sigterm_stops_cleanly(self):
        self.gw.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.gw.proc.wait(timeout=20), 0)
        self.gw.wait_for(lambda e: e.get("event") == "stopped")


class PortalDeadlines(unittest.TestCase):
    """portal.handshake_timeout and portal.request_timeout: a connection that does not finish its
    handshake or a request's head in time, or pauses longer than that in a body, is closed without an
    answer; the deadline is per request and per body read, so a connection in steady use and an
    upload that keeps arriving outlive it."""

    def setUp(self):
        text = dev_config()
        portal = "\nportal:\n"
        self.assertEqual(text.count(portal), 1)
        text = text.replace(portal, portal + "  handshake_timeout: 1s\n  request_timeout: 2s\n")
        self.gw = Gateway(text)
        self.addCleanup(self.gw.stop)
        listening = self.gw.wait_for(lambda e: e.get("event") == "listening" and e.get("listener") == "portal")
        self.port = int(listening["address"].rsplit(":", 1)[1])
        self.gw.wait_for(lambda e: e.get("event") == "started")
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def closed_after(self, sock):
        """Seconds until the server closes `sock` (EOF or reset), and what it sent meanwhile."""
        start = time.monotonic()
        received = b""
        sock.settimeout(15)
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except (ConnectionResetError, ssl.SSLError):
            pass
        return time.monotonic() - start, received

    def assert_closed_without_answer(self, conn, at_least):
        """The server closes conn without a byte, no sooner than at_least seconds (and well within 10)."""
        waited, received = self.closed_after(conn)
        self.assertEqual(received, b"")
        self.assertGreaterEqual(waited, at_least)
        self.assertLess(waited, 10)

    def tls_connection(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        return self.tls.wrap_socket(raw)

    def test_a_connection_without_a_handshake_is_closed_after_the_handshake_timeout(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as raw:
            self.assert_closed_without_answer(raw, 0.9)

    def test_half_a_request_is_closed_after_the_request_timeout_without_an_answer(self):
        with self.tls_connection() as conn:
            conn.sendall(b"GET /accessibility HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
            self.assert_closed_without_answer(conn, 1.9)

    def test_a_body_may_take_longer_than_the_timeout_while_it_keeps_arriving(self):
        with self.tls_connection() as conn:
            conn.sendall(b"POST /accessibility HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n")
            started = time.monotonic()
            for byte in b"12345678":  # 8 × 0.5 s: twice the request timeout, never a 2 s pause
                time.sleep(0.5)
                conn.sendall(bytes([byte]))
            conn.settimeout(15)
            answer = conn.recv(4096)
        self.assertGreater(time.monotonic() - started, 3.5)
        self.assertRegex(answer, rb"^HTTP/1\.1 [0-9]{3} ")

    def test_a_body_that_stops_arriving_is_closed_after_the_request_timeout(self):
        with self.tls_connection() as conn:
            conn.sendall(b"POST /accessibility HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n1234")
            self.assert_closed_without_answer(conn, 1.9)

    def test_an_upload_in_progress_is_finished_and_answered_during_a_stop(self):
        with self.tls_connection() as conn:
            conn.sendall(b"POST /accessibility HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n1234")
            time.sleep(0.5)  # the head has been read; the body is on its way
            self.gw.proc.send_signal(signal.SIGTERM)
            self.gw.wait_for(lambda e: e.get("event") == "stopping")
            conn.sendall(b"5678")
            conn.settimeout(15)
            answer = conn.recv(4096)
        self.assertRegex(answer, rb"^HTTP/1\.1 [0-9]{3} ")
        self.assertIn(b"\r\nConnection: close\r\n", answer)
        self.assertEqual(self.gw.proc.wait(timeout=20), 0)

    def test_the_deadline_is_per_request_and_covers_the_keep_alive_wait(self):
        request = b"GET /accessibility HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with self.tls_connection() as conn:
            conn.settimeout(15)
            reader = conn.makefile("rb")
            started = time.monotonic()
            answered = 0
            while time.monotonic() - started < 3.5:  # longer than the request timeout, in steady use
                conn.sendall(request)
                status = reader.readline()
                self.assertTrue(status.startswith(b"HTTP/1.1 200 "), status)
                length = None
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.assertIsNotNone(length)
                self.assertEqual(len(reader.read(length)), length)
                answered += 1
                time.sleep(0.5)
            self.assertGreaterEqual(answered, 6)
            waited, received = self.closed_after(conn)  # then idle: closed, nothing more sent
            reader.close()
        self.assertEqual(received, b"")
        self.assertGreaterEqual(waited, 1.0)  # 2 s from the last request, of which 0.5 s slept
        self.assertLess(waited, 10)


class StartFailures(unittest.TestCase):
    def test_invalid_config_does_not_start(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = pathlib.Path(d) / "bad.yaml"
            cfg.write_text(dev_config().replace("role: inbound", "role: outbound"))
            r = subprocess.run([BIN, "serve", "--config", str(cfg)], cwd=d, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, re.escape(str(cfg)) + r":\d+:\d+: .*'outbound' is not one of")

    def test_port_in_use_is_a_clear_error(self):
        first = Gateway(dev_config())
        try:
            port = int(first.wait_for(lambda e: e.get("event") == "listening" and e.get("listener") == "admin")
                       ["address"].rsplit(":", 1)[1])
            with tempfile.TemporaryDirectory() as d:
                cfg = pathlib.Path(d) / "second.yaml"
                cfg.write_text(dev_config().replace('admin:\n  address: "127.0.0.1:0"',
                                                    f'admin:\n  address: "127.0.0.1:{port}"'))
                r = subprocess.run([BIN, "serve", "--config", str(cfg)], cwd=d, capture_output=True, text=True,
                                   timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn("Address already in use", r.stderr)
        finally:
            first.stop()


if __name__ == "__main__":
    unittest.main()
