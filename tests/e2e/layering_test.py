"""House rules that keep the architecture honest (CONVENTIONS.md habit 5 and DESIGN.md "Layout"):
each third-party library is used in exactly one place, and components depend one way only
(gateway → smtp, sms, crypto, config → common)."""
import os
import pathlib
import re
import unittest

SRC = pathlib.Path(os.environ["SINETTI_SOURCE_DIR"])
COMPONENTS = ["common", "config", "crypto", "sms", "smtp", "gateway"]

# Library include pattern → the only directories whose sources may include it.
HOMES = {
    r"<openssl/(?!ssl\.h)": ("crypto/",),
    r"<yaml-cpp/": ("config/",),
    r"<gmime/|\"smtp/mime/gmime_include\.hpp\"": ("smtp/mime/",),
    r"<pcre2\.h>": ("gateway/routing/pattern_detector.cpp",),
    r"<curl/": ("sms/", "gateway/http/", "gateway/auth/"),
    r"<sqlite3\.h>": ("gateway/store/",),
    r"<libpq-fe\.h>": ("gateway/store/",),
    r"<cjose/": ("gateway/auth/",),
    r"<argon2\.h>": ("crypto/",),
}

# component → components it may include from (besides itself).
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "crypto": {"common"},
    "sms": {"common", "config"},
    "smtp": {"common", "config", "crypto"},
    "gateway": {"common", "config", "crypto", "sms", "smtp"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"][^>"]+[>"])', re.M)


def sources():
    for component in COMPONENTS:
        for path in (SRC / component).rglob("*"):
            if path.suffix in (".cpp", ".hpp", ".h"):
                yield component, path


class Layering(unittest.TestCase):
    def test_sources_exist(self):
        self.assertGreater(len(list(sources())), 30)

    def test_each_library_has_one_home(self):
        for _, path in sources():
            rel = str(path.relative_to(SRC))
            for include in INCLUDE.findall(path.read_text(errors="replace")):
                for pattern, homes in HOMES.items():
                    if re.match(pattern, include):
                        self.assertTrue(rel.startswith(homes), f"{rel} includes {include}; only {homes} may")

    def test_dependencies_point_one_way(self):
        for component, path in sources():
            for include in INCLUDE.findall(path.read_text(errors="replace")):
                target = include.strip('<>"').split("/")[0]
                if include.startswith('"') and target in ALLOWED and target != component and target != "sinetti":
                    self.assertIn(target, ALLOWED[component], f"{path.relative_to(SRC)} includes {include}")

    def test_the_checks_catch_a_violation(self):
        self.assertTrue(re.match(list(HOMES)[0], "<openssl/evp.h>"))
        self.assertFalse(re.match(list(HOMES)[0], "<openssl/ssl.h>"))


if __name__ == "__main__":
    unittest.main()
