"""The SMTP benchmarks' Sinetti configuration stays usable as the schema grows: the template
bench/smtp/sinetti-bench.yaml, rendered with free ports as the harness renders it, passes
`sinetti check-config`, and routes the benchmark's two paths as the harness assumes (the forward
path's message is forwarded to the team, the protect path's is protected). No benchmark runs here."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ["SINETTI_BIN"]
SRC = pathlib.Path(os.environ["SINETTI_SOURCE_DIR"])
sys.path.insert(0, str(SRC / "bench" / "smtp"))
import benchlib  # noqa: E402


class BenchConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.cwd = pathlib.Path(self.dir.name)
        ports = benchlib.Ports()
        text, self.ports = benchlib.render_sinetti_config(ports, ports.free())
        self.config = self.cwd / "sinetti-bench.yaml"
        self.config.write_text(text)

    def sinetti(self, *args):
        return subprocess.run([BIN, *args, "--config", str(self.config)], cwd=self.cwd, capture_output=True,
                              text=True, timeout=60)

    def explain(self, listener, sender, recipient):
        message = self.cwd / "message.eml"
        message.write_text(benchlib.probe_message(sender, recipient, 10240))
        r = self.sinetti("route", "explain", str(message), "--from", sender, "--to", recipient,
                         "--listener", listener, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(len(out["recipients"]), 1)
        return out["recipients"][0]

    def test_rendered_template_passes_check_config(self):
        self.assertNotIn("${", self.config.read_text())
        r = self.sinetti("check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_relay_reuse_can_be_turned_off(self):
        ports = benchlib.Ports()
        text, _ = benchlib.render_sinetti_config(ports, ports.free(), relay_reuse_idle="0s")
        self.assertIn("tls: none, reuse: {idle: 0s}}", text)
        self.config.write_text(text)
        r = self.sinetti("check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.config.write_text(text.replace("idle: 0s", "idle: 1h"))  # beyond the schema's 5 min
        r = self.sinetti("check-config")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("delivery.relay.reuse.idle", r.stdout + r.stderr)

    def test_listeners_use_the_rendered_ports_and_hold_ten_thousand_sessions(self):
        text = self.config.read_text()
        for key in ("inbound_port", "submission_port", "portal_port", "admin_port", "relay_port"):
            self.assertIn(str(self.ports[key]), text)
        self.assertEqual(text.count("max_connections: 11000"), 2)

    def test_forward_path_is_forwarded_to_the_team(self):
        d = self.explain("inbound", benchlib.CITIZEN, benchlib.TEAM_ADDRESS)["decision"]
        self.assertEqual(d["action"], "forward")
        self.assertEqual(d["mailbox"], benchlib.TEAM_MAILBOX)

    def test_protect_path_is_protected_for_the_unsuffixed_recipient(self):
        r = self.explain("submission", benchlib.STAFF, benchlib.PROTECTED_RECIPIENT)
        self.assertEqual(r["decision"]["action"], "protect")
        self.assertEqual(r["decision"]["level"], "letter")
        self.assertEqual(r["address"], benchlib.CITIZEN)


if __name__ == "__main__":
    unittest.main()
