"""`sinetti serve` killed with SIGKILL at random moments while 20 concurrent SMTP sessions send to it
and its delivery queue forwards to the test mail server (tests/e2e/mailserver.py). The gateway is
restarted on the same data directory and ports each time. RFC 5321 §6.1: once a client has heard
250 the message is ours — at the end every such message must have arrived at the mail server or
still be in the store, none lost. Deliveries are at-least-once: a message handed over just before
a kill, whose completion was not yet committed, is sent again after the restart. The test counts
such duplicates and checks that each one has a kill between its copies."""
import os
import random
import smtplib
import tempfile
import threading
import time
import unittest

from mail_support import (NEUVONTA, NEUVONTA_BOX, TYONHAKU, TYONHAKU_BOX, GatewayProcess, MailServer, free_port,
                          gateway_config, queue_id, wait_until)

SESSIONS = 20
MESSAGES = 500        # at least this many acknowledged before the senders stop
MAX_MESSAGES = 900    # the senders stop here; kills go on while the queue delivers the rest
KILLS = 8             # SIGKILLs while mail flows in and out
UPTIME = (0.5, 3.0)   # seconds between a restart and the next kill (uniformly random)
PER_SESSION = 5       # messages per SMTP session before QUIT
PACE = (0.1, 0.6)     # seconds each client waits between messages, so that sending spans the kills


class _Enough:
    """Set when the test says stop or MAX_MESSAGES have been acknowledged."""

    def __init__(self, stop, acknowledged):
        self._stop, self._acknowledged = stop, acknowledged

    def is_set(self):
        return self._stop.is_set() or len(self._acknowledged) >= MAX_MESSAGES


class Sender(threading.Thread):
    """One client: sessions of a few messages each, reconnecting whenever the gateway is away.
    Records every message that received 250 (queue id and Message-ID)."""

    def __init__(self, index, port, acknowledged, lock, stop):
        super().__init__(daemon=True)
        self.index, self.port, self.acknowledged, self.lock = index, port, acknowledged, lock
        self.stop = _Enough(stop, acknowledged)
        self.rng = random.Random()
        self.sent = 0
        self.failures = 0
        self.temporary = 0
        self.errors = []

    def run(self):
        n = 0
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                    s.ehlo(f"client{self.index}.example")
                    for _ in range(PER_SESSION):
                        if self.stop.is_set():
                            break
                        time.sleep(self.rng.uniform(*PACE))
                        n += 1
                        mid = f"kill-{self.index}-{n}-{os.urandom(4).hex()}@example.com"
                        to = NEUVONTA if n % 2 else TYONHAKU
                        data = (f"From: <asiakas{self.index}@example.com>\r\nTo: <{to}>\r\n"
                                f"Subject: Kysymys {self.index}/{n}\r\nMessage-ID: <{mid}>\r\n\r\n"
                                f"Viesti {n} istunnosta {self.index}.\r\n").encode()
                        s.mail(f"asiakas{self.index}@example.com")
                        s.rcpt(to)
                        code, reply = s.data(data)
                        if code == 250:
                            with self.lock:
                                self.acknowledged[mid] = (queue_id(reply), to, time.time())
                            self.sent += 1
                        elif 400 <= code < 500:
                            self.temporary += 1  # allowed (the client would try again); not ours yet
                        else:
                            self.errors.append((code, reply))
            except (OSError, smtplib.SMTPException):
                self.failures += 1  # the gateway was killed (or is starting): try again shortly
                time.sleep(0.2)


class KillTest(unittest.TestCase):
    def test_no_acknowledged_message_is_lost(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        server = MailServer(os.path.join(tmp.name, "received"), "--pipelining")
        self.addCleanup(server.stop)
        inbound, admin = free_port(), free_port()
        os.mkdir(os.path.join(tmp.name, "gw"))
        gw = GatewayProcess(os.path.join(tmp.name, "gw"),
                            gateway_config(server.port, inbound_port=inbound, admin_port=admin, workers=8))
        self.addCleanup(gw.stop)
        self.assertEqual(gw.listening("inbound"), inbound)
        gw.started()

        acknowledged, lock, stop = {}, threading.Lock(), threading.Event()
        senders = [Sender(i, inbound, acknowledged, lock, stop) for i in range(SESSIONS)]
        started = time.monotonic()
        for s in senders:
            s.start()

        rng = random.Random()
        kills = []  # (time.time() of the kill, messages acknowledged by then)
        for k in range(KILLS):
            # Kill at a random moment while mail flows in and out, then come back on the same ports.
            time.sleep(rng.uniform(*UPTIME))
            gw.kill()
            kills.append((time.time(), len(acknowledged)))
            time.sleep(rng.uniform(0, 1))
            gw.start()
            self.assertEqual(gw.listening("inbound"), inbound)
            gw.started()
        wait_until(lambda: len(acknowledged) >= MESSAGES, 120, f"{MESSAGES} acknowledged messages")
        stop.set()
        for s in senders:
            s.join(timeout=60)
        self.assertFalse(any(s.is_alive() for s in senders), "senders finished")
        sending = time.monotonic() - started
        total = len(acknowledged)
        self.assertGreaterEqual(total, 500)
        self.assertEqual([e for s in senders for e in s.errors], [], "only 250, 4xx or a dropped connection")

        # A clean stop (SIGTERM) and start as well, then let the queue drain.
        gw.stop()
        gw.start()
        gw.started()

        def mids():
            counts, arrivals, boxes = {}, {}, {}
            for m in server.messages():
                counts[m.message_id] = counts.get(m.message_id, 0) + 1
                arrivals.setdefault(m.message_id, []).append(m.arrived)
                boxes.setdefault(m.message_id, set()).update(m.rcpt_tos)
            return counts, arrivals, boxes

        try:
            wait_until(lambda: all(mid in mids()[0] for mid in acknowledged), 180, "every message delivered",
                       interval=1)
        except AssertionError:
            pass  # what is missing must still be in the store: checked below
        drained = time.monotonic() - started
        gw.stop()

        counts, arrivals, boxes = mids()
        delivered = [mid for mid in acknowledged if mid in counts]
        missing = [mid for mid in acknowledged if mid not in counts]
        still_stored = []
        for mid in missing:
            qid, to, _ = acknowledged[mid]
            rows = gw.query("SELECT m.state, q.state AS queue_state FROM messages m JOIN queue_entries q "
                            "ON q.message_id = m.id WHERE m.id = ?", qid)
            if rows and all(r["state"] == "stored" and r["queue_state"] in ("queued", "leased") for r in rows):
                still_stored.append(mid)
        lost = sorted(set(missing) - set(still_stored))
        duplicates = {mid: n for mid, n in counts.items() if n > 1 and mid in acknowledged}
        kill_times = [t for t, _ in kills]
        for mid, n in duplicates.items():
            # A copy arrived before a kill and the next one after it: the completion of the first
            # delivery died with the process. At most one extra copy per kill.
            times = sorted(arrivals[mid])
            self.assertLessEqual(n, 1 + len(kills), mid)
            for a, b in zip(times, times[1:]):
                self.assertTrue(any(a - 1 <= k <= b + 1 for k in kill_times), (mid, times, kill_times))
        unexpected = [mid for mid in counts if mid.startswith("kill-") and mid not in acknowledged]

        # The store itself survived the kills.
        audit = gw.cli("audit", "verify")
        self.assertIn("audit chain ok", audit.stdout)
        queue_ids = {acknowledged[mid][0] for mid in acknowledged}
        known = {r["id"] for r in gw.query("SELECT id FROM messages WHERE kind = 'spool'")}
        self.assertEqual(queue_ids - known, set(), "every acknowledged message has its row")
        for mid in delivered:
            qid, to, _ = acknowledged[mid]
            self.assertEqual(boxes[mid], {NEUVONTA_BOX if to == NEUVONTA else TYONHAKU_BOX}, mid)

        print(f"\nkill test: {total} messages acknowledged over {SESSIONS} sessions in {sending:.1f}s, "
              f"{len(kills)} SIGKILLs (after {[n for _, n in kills]} acknowledged), "
              f"{sum(s.failures for s in senders)} dropped sessions, {sum(s.temporary for s in senders)} 4xx replies; "
              f"after drain ({drained:.1f}s): "
              f"{len(delivered)} delivered, {len(still_stored)} still queued, {len(lost)} lost, "
              f"{len(duplicates)} delivered twice or more ({sum(duplicates.values()) - len(duplicates)} extra copies), "
              f"{len(unexpected)} delivered without a 250", flush=True)
        self.assertEqual(lost, [], "acknowledged but neither delivered nor in the store")


if __name__ == "__main__":
    unittest.main()
