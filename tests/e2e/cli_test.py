"""The operator's commands on the real binary: check-config on the shipped examples and on broken
files, the README's configuration reference against the schema, route explain on a corpus of
messages (golden outputs), exit codes."""
import json
import os
import pathlib
import re
import subprocess
import tempfile
import unittest

BIN = os.environ["SINETTI_BIN"]
SRC = pathlib.Path(os.environ["SINETTI_SOURCE_DIR"])
EXAMPLES = SRC / "config" / "examples"
EXPLAIN = SRC / "tests" / "data" / "explain"


def sinetti(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def reroot(text, root):
    """The example's /etc/sinetti/... paths moved under `root`, each made a real file (0640)."""
    def replace(match):
        path = pathlib.Path(root + match.group(0))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")  # every /etc/sinetti path in the examples is a file
        path.chmod(0o640)
        return str(path)
    return "\n".join(line if line.lstrip().startswith("#") else re.sub(r"/etc/sinetti/[\w./-]+", replace, line)
                     for line in text.splitlines())


class CheckConfig(unittest.TestCase):
    def test_dev_example_passes_with_file_checks(self):
        with tempfile.TemporaryDirectory() as cwd:  # fresh: the self-signed files do not exist yet
            r = sinetti("check-config", "--config", str(EXAMPLES / "dev.yaml"), cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok (2 listeners, 2 teams, 4 rules)", r.stdout)

    def test_every_example_passes_without_file_checks(self):
        examples = sorted(p for p in EXAMPLES.iterdir() if p.is_file())
        names = {p.name for p in examples}
        self.assertTrue({"dev.yaml", "production.yaml", "sms-gatewayapi.yaml", "sms-46elks.yaml",
                         "sms-twilio.yaml"} <= names, names)
        for example in examples:
            self.assertEqual(example.suffix, ".yaml", f"{example}: every file in config/examples is a configuration")
            r = sinetti("check-config", "--skip-file-checks", "--config", str(example))
            self.assertEqual(r.returncode, 0, f"{example}: {r.stderr}")
            self.assertIn(": ok (", r.stdout)

    def test_every_example_passes_when_its_files_exist(self):
        for example in sorted(EXAMPLES.glob("*.yaml")):
            with self.subTest(example=example.name), tempfile.TemporaryDirectory() as root:
                cfg = pathlib.Path(root) / example.name
                cfg.write_text(reroot(example.read_text(), root))
                r = sinetti("check-config", "--config", str(cfg), cwd=root)
                self.assertEqual(r.returncode, 0, f"{example}: {r.stderr}")

    def test_bad_sms_provider_template_is_reported_with_position(self):
        text = (EXAMPLES / "sms-gatewayapi.yaml").read_text()
        self.assertIn('msisdn: "{{to_digits}}"', text)
        text = text.replace('msisdn: "{{to_digits}}"', 'msisdn: "{{to_digit}}"').replace("message_id: /ids/0", "message_id: ids/0")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r = sinetti("check-config", "--skip-file-checks", "--config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        name = re.escape(f.name)
        self.assertRegex(r.stderr, name + r":\d+:\d+: sms\.http\.body\.recipients\[0\]\.msisdn: unknown placeholder \{\{to_digit\}\}")
        self.assertRegex(r.stderr, name + r":\d+:\d+: sms\.http\.message_id: 'ids/0' is not a JSON pointer")

    def test_bad_pin_text_is_reported_with_position(self):
        text = (EXAMPLES / "sms-46elks.yaml").read_text()
        self.assertIn("tunnuslukusi on {{pin}}", text)
        text = text.replace("tunnuslukusi on {{pin}}", "tunnuslukusi on {{koodi}}")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r = sinetti("check-config", "--skip-file-checks", "--config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, re.escape(f.name) + r":\d+:\d+: sms\.text\.fi: unknown placeholder \{\{koodi\}\}")
        self.assertIn("sms.text.fi: the text must contain {{pin}}", r.stderr)

    def test_production_example_names_its_missing_files(self):
        r = sinetti("check-config", "--config", str(EXAMPLES / "production.yaml"))
        self.assertEqual(r.returncode, 1)
        prod = re.escape(str(EXAMPLES / "production.yaml"))
        self.assertRegex(r.stderr, prod + r":\d+:\d+: cannot read /etc/sinetti/tls/mail.pem: No such file or directory")
        self.assertRegex(r.stderr, prod + r":\d+:\d+: cannot read /etc/sinetti/secrets/relay.password")

    def test_production_example_passes_when_its_files_exist(self):
        text = (EXAMPLES / "production.yaml").read_text()
        with tempfile.TemporaryDirectory() as root:
            cfg = pathlib.Path(root) / "sinetti.yaml"
            cfg.write_text(reroot(text, root))
            r = sinetti("check-config", "--config", str(cfg))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok (2 listeners, 3 teams, 6 rules)", r.stdout)

    def test_broken_file_reports_every_error_with_position(self):
        text = (EXAMPLES / "dev.yaml").read_text()
        text = text.replace("max_message_size: 35MiB", "max_mesage_size: 35MiB")
        text = text.replace("{team: from_recipient}", "{team: neuvnota}")
        text = text.replace('address: "127.0.0.1:9090"', 'address: "127.0.0.1"')
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r = sinetti("check-config", "--config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        lines = [l for l in r.stderr.splitlines() if re.match(re.escape(f.name) + r":\d+:\d+: ", l)]
        self.assertEqual(len(lines), 3, r.stderr)
        self.assertIn(f.name + ": 3 errors", r.stderr)
        self.assertIn("did you mean 'max_message_size'", r.stderr)
        self.assertIn("did you mean 'neuvonta'", r.stderr)
        self.assertIn("expected HOST:PORT", r.stderr)

    def test_bad_regex_is_reported_by_check_config(self):
        text = (EXAMPLES / "dev.yaml").read_text().replace(
            "routing:\n", "routing:\n  detectors:\n    - {name: broken, regex: 'a(b'}\n", 1)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r = sinetti("check-config", "--skip-file-checks", "--config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, re.escape(f.name) + r":\d+:\d+: detector 'broken': ")

    def test_missing_config_file(self):
        r = sinetti("check-config", "--config", "/nonexistent/sinetti.yaml")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/sinetti.yaml", r.stderr)


class Reference(unittest.TestCase):
    def test_readme_reference_matches_the_schema(self):
        readme = (SRC / "README.md").read_text()
        m = re.search(r"<!-- BEGIN CONFIG REFERENCE -->\n(.*)<!-- END CONFIG REFERENCE -->", readme, re.S)
        self.assertIsNotNone(m, "README lacks the reference markers")
        r = sinetti("config-reference")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(m.group(1), r.stdout,
                         "README's configuration reference is stale: run `make reference`")


class Usage(unittest.TestCase):
    def test_help_lists_commands(self):
        r = sinetti("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("serve", "check-config", "config-reference", "route"):
            self.assertIn(cmd, r.stdout)

    def test_usage_errors_exit_2(self):
        self.assertEqual(sinetti().returncode, 2)
        self.assertEqual(sinetti("no-such-command").returncode, 2)
        self.assertEqual(sinetti("route", "explain", "--config", str(EXAMPLES / "dev.yaml")).returncode, 2)


class RouteExplain(unittest.TestCase):
    """Each tests/data/explain/NAME.eml has NAME.args (command-line arguments, one per line) and
    NAME.expected (the exact text output)."""

    def cases(self):
        cases = sorted(EXPLAIN.glob("*.eml"))
        self.assertGreaterEqual(len(cases), 8)
        return cases

    def run_case(self, eml, *extra):
        args = [a for a in (eml.with_suffix(".args")).read_text().splitlines() if a]
        # Relative paths from the source root, so the golden output does not depend on the checkout.
        return sinetti("route", "explain", "--config", "config/examples/dev.yaml", str(eml.relative_to(SRC)), *args,
                       *extra, cwd=str(SRC))

    def test_golden_outputs(self):
        for eml in self.cases():
            with self.subTest(eml.name):
                r = self.run_case(eml)
                self.assertEqual(r.returncode, 0, r.stderr)
                expected = eml.with_suffix(".expected").read_text()
                self.assertEqual(r.stdout, expected)

    def test_json_output_agrees_with_text(self):
        for eml in self.cases():
            with self.subTest(eml.name):
                r = self.run_case(eml, "--json")
                self.assertEqual(r.returncode, 0, r.stderr)
                out = json.loads(r.stdout)
                text = eml.with_suffix(".expected").read_text()
                for rcpt in out["recipients"]:
                    self.assertIn("decision: " + rcpt["decision"]["summary"], text)
                    self.assertTrue(rcpt["trace"][-1]["matched"])

    def test_output_never_shows_identity_codes_or_full_phone_numbers(self):
        secrets = ["010594Y9032", "020516C903K", "131052-308T", "0401234567", "401234567", "FI2112345600000785"]
        for eml in self.cases():
            for extra in ([], ["--json"]):
                r = self.run_case(eml, *extra)
                for s in secrets:
                    self.assertNotIn(s, r.stdout, f"{eml.name} {extra} shows {s}")

    def test_unreadable_message_and_unknown_listener(self):
        r = sinetti("route", "explain", "--config", str(EXAMPLES / "dev.yaml"), "/nonexistent.eml", "--to", "a@b.fi")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent.eml", r.stderr)
        eml = self.cases()[0]
        r = sinetti("route", "explain", "--config", str(EXAMPLES / "dev.yaml"), str(eml), "--to", "a@b.fi",
                    "--listener", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no listener named 'nope'", r.stderr)


if __name__ == "__main__":
    unittest.main()
