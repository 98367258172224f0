"""Durability of the message store under SIGKILL (DESIGN "Durability"): a child process seals and
stores messages as fast as it can — a data key per message wrapped to the key ring this test creates,
content sealed in 64 KiB chunks — and reports each id only after its commit completed; the test kills
it at random moments, at least 20 times, and after each restart checks with the ring's private half
that every id ever reported opens, verifies and hashes to the SHA-256 the child printed, its queue
entry present, the audit chain whole and the database file sound. The ring is rotated now and then,
so messages wrapped to older KEKs must keep opening."""
import os
import pathlib
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HELPER = os.environ["SINETTI_STORE_CRASH_WRITER"]
KILLS = 24
ROTATE_EVERY = 8  # runs between key rotations


def run_and_kill(data, run, delay):
    """Starts a writer, kills it after `delay` seconds; returns the complete lines it reported."""
    child = subprocess.Popen([HELPER, "write", str(data), str(run)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    lines = []

    def read():
        for raw in child.stdout:
            if raw.endswith(b"\n"):  # a line cut by the kill was never fully reported
                lines.append(raw.decode().strip())

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(delay)
    still_running = child.poll() is None
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join()
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    child.stdout.close()
    return lines, still_running, stderr


class StoreCrash(unittest.TestCase):
    def test_every_reported_commit_survives_sigkill(self):
        seed = int(os.environ.get("SINETTI_CRASH_SEED", time.time_ns() % 1_000_000))
        rng = random.Random(seed)
        with tempfile.TemporaryDirectory(prefix="sinetti-crash-") as tmp:
            data = pathlib.Path(tmp)
            db = data / "store.db"
            reported = data / "reported.txt"
            reported.touch()
            made = subprocess.run([HELPER, "init", str(data)], capture_output=True, text=True, timeout=30)
            self.assertEqual(made.returncode, 0, made.stderr)
            self.assertEqual((data / "keys" / "kek-000001.key").stat().st_mode & 0o777, 0o600)
            total = 0
            keks = 1
            started = time.monotonic()
            for run in range(KILLS):
                if run > 0 and run % ROTATE_EVERY == 0:
                    rotated = subprocess.run([HELPER, "rotate", str(data)], capture_output=True, text=True, timeout=30)
                    self.assertEqual(rotated.returncode, 0, rotated.stderr)
                    keks += 1
                    self.assertEqual(rotated.stdout.strip(), f"kek {keks}")
                delay = rng.uniform(0.05, 0.6)
                lines, running, stderr = run_and_kill(data, run, delay)
                self.assertTrue(running, f"seed {seed} run {run}: the writer ended by itself: {stderr}")
                with reported.open("a") as f:
                    for line in lines:
                        f.write(line + "\n")
                total += len(lines)
                check = subprocess.run([HELPER, "verify", str(data), str(reported)], capture_output=True,
                                       text=True, timeout=120)
                self.assertEqual(check.returncode, 0,
                                 f"seed {seed} run {run} (killed after {delay:.3f}s): {check.stdout}{check.stderr}")
                self.assertIn(f"checked {total} bad 0", check.stdout)
            # Every KEK the ring had wrapped some of the messages, and all of them opened.
            per_kek = dict(item.split(":") for item in check.stdout.split("opened_per_kek")[1].split())
            self.assertEqual(sorted(per_kek), [str(k) for k in range(1, keks + 1)], check.stdout)
            self.assertEqual(sum(int(n) for n in per_kek.values()), total)
            print(f"\nstore crash: seed {seed}, {KILLS} kills, {total} reported commits opened and verified, "
                  f"per KEK {per_kek}, {time.monotonic() - started:.1f}s", file=sys.stderr)
            self.assertGreater(total, KILLS, f"seed {seed}: too few commits to mean anything")
            with sqlite3.connect(db) as raw:
                self.assertEqual(raw.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                stored = raw.execute("SELECT COUNT(*) FROM messages WHERE state = 'stored'").fetchone()[0]
                receiving = raw.execute("SELECT COUNT(*) FROM messages WHERE state = 'receiving'").fetchone()[0]
            # Commits that completed after the child's last report was read may add more, never fewer.
            self.assertGreaterEqual(stored, total)
            self.assertEqual(receiving, 0, "the last verify's open removes what the last kill left")


if __name__ == "__main__":
    unittest.main()
