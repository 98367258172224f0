"""Durability of the message store under SIGKILL (DESIGN "Durability"): a child process stores
messages as fast as it can and reports each id only after its commit completed; the test kills it at
random moments, at least 20 times, and after each restart checks that every id ever reported is
stored with intact chunks (the checksum the child printed), its queue entry present, the audit chain
whole and the database file sound."""
import os
import pathlib
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

HELPER = os.environ["SINETTI_STORE_CRASH_WRITER"]
KILLS = 24


def run_and_kill(db, run, delay):
    """Starts a writer, kills it after `delay` seconds; returns the complete lines it reported."""
    child = subprocess.Popen([HELPER, "write", str(db), str(run)], stdout=subprocess.PIPE,
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
            db = pathlib.Path(tmp) / "store.db"
            reported = pathlib.Path(tmp) / "reported.txt"
            reported.touch()
            total = 0
            for run in range(KILLS):
                delay = rng.uniform(0.05, 0.6)
                lines, running, stderr = run_and_kill(db, run, delay)
                self.assertTrue(running, f"seed {seed} run {run}: the writer ended by itself: {stderr}")
                with reported.open("a") as f:
                    for line in lines:
                        f.write(line + "\n")
                total += len(lines)
                check = subprocess.run([HELPER, "verify", str(db), str(reported)], capture_output=True,
                                       text=True, timeout=120)
                self.assertEqual(check.returncode, 0,
                                 f"seed {seed} run {run} (killed after {delay:.3f}s): {check.stdout}{check.stderr}")
                self.assertIn(f"checked {total} bad 0", check.stdout)
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
