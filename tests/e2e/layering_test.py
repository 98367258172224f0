"""House rules that keep the architecture honest (CONVENTIONS.md habit 5 and DESIGN.md "Layout"):
each third-party library is used in exactly one place, and components depend one way only
(gateway → smtp, sms, crypto, config → common). And one rule for the compiler we build with: GCC 12
destroys an aggregate temporary (a lambda closure, `Type{...}`, `{...}`) that has a non-trivial
destructor twice when it appears in a co_await expression — a by-value shared_ptr capture loses a
reference each time (it freed the delivery queue's content reader mid-message). So in a co_await
operand lambdas capture only by reference (or `this`), and other temporaries are built with a
constructor or named first."""
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
    r"<gumbo\.h>": ("gateway/portal/html_sanitizer.cpp",),
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


RAW = re.compile(r'R"([^(\s]*)\((.*?)\)\1"', re.S)
STR = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def blank(m):
    return re.sub(r"[^\n]", " ", m.group(0))


def code_only(text):
    text = RAW.sub(lambda m: '""' + blank(m)[2:], text)
    text = COMMENT.sub(blank, text)
    return STR.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], text)


def operand(text, start):
    """From `start` to the end of the statement (a ; at depth 0, or an unmatched closer)."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                break
        elif c == ";" and depth == 0:
            break
        i += 1
    return text[start:i]


def matching(text, i):
    """Index just past the bracket that closes text[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for j in range(i, len(text)):
        if text[j] in pairs:
            depth += 1
        elif text[j] in pairs.values():
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


SAFE_CAPTURE = re.compile(r"^(&|this|&\s*[A-Za-z_]\w*)$")


def hazards(expr):
    """Owning lambda captures and brace-initialised temporaries in one co_await operand."""
    found = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c == "[" and re.search(r"(^|[(,=]|return)\s*$", expr[:i]):
            end = matching(expr, i)
            captures = [x.strip() for x in expr[i + 1:end - 1].split(",") if x.strip()]
            for cap in captures:
                if not SAFE_CAPTURE.match(cap):
                    found.append(f"lambda capture '{cap}'")
            j = end
            if j < len(expr) and expr[j:].lstrip().startswith("("):
                j = matching(expr, expr.index("(", j))
            body = expr.find("{", j)
            if body < 0:
                break
            i = matching(expr, body)  # the lambda body runs later, as an ordinary function
            continue
        if c == "{":
            found.append("brace-initialised temporary '" + " ".join(expr[max(0, i - 20):i + 20].split()) + "'")
            i = matching(expr, i)
            continue
        i += 1
    return found


def coroutine_hazards(path_or_text):
    text = code_only(path_or_text)
    out = []
    for m in re.finditer(r"\bco_await\b", text):
        for h in hazards(operand(text, m.end())):
            out.append(f"line {text.count(chr(10), 0, m.start()) + 1}: {h}")
    return out


def sources():
    for component in COMPONENTS:
        for path in (SRC / component).rglob("*"):
            if path.suffix in (".cpp", ".hpp", ".h"):
                yield component, path


class Layering(unittest.TestCase):
    def test_sources_exist(self):
        self.assertGreater(len(list(sources())), 30)

    def test_each_library_has_one_home(self):
        # The benchmarks are product code's clients like any other (tests may reach past the homes
        # to tamper with what they check).
        bench = [p for p in (SRC / "bench").rglob("*") if p.suffix in (".cpp", ".hpp")]
        self.assertTrue(bench)
        for path in [p for _, p in sources()] + bench:
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

    def test_no_owning_temporaries_in_co_await(self):
        roots = [SRC / d for d in COMPONENTS + ["tests", "bench"]]
        checked = 0
        for root in roots:
            for path in root.rglob("*"):
                if path.suffix not in (".cpp", ".hpp") or "co_await" not in path.read_text(errors="replace"):
                    continue
                checked += 1
                found = coroutine_hazards(path.read_text(errors="replace"))
                self.assertEqual(found, [], f"{path.relative_to(SRC)}: GCC 12 destroys these twice")
        self.assertGreater(checked, 5)

    def test_the_coroutine_check_catches_a_violation(self):
        self.assertEqual(len(coroutine_hazards("auto p = co_await pool.run_blocking([reader] { return 1; });")), 1)
        self.assertEqual(len(coroutine_hazards("co_await f(x, Piece{a, b});")), 1)
        self.assertEqual(len(coroutine_hazards("co_await g([start = std::move(start)](auto h) mutable {});")), 1)
        self.assertEqual(coroutine_hazards("auto r = co_await pool.run_blocking([&] { return Piece{1}; });\n"
                                           "co_await q([this, &role]() { return v[0]; }); // [x] { }\n"
                                           "co_await say(\"{x}\"); auto s = v[1]; Reply r{1};"), [])

    def test_the_checks_catch_a_violation(self):
        self.assertTrue(re.match(list(HOMES)[0], "<openssl/evp.h>"))
        self.assertFalse(re.match(list(HOMES)[0], "<openssl/ssl.h>"))


if __name__ == "__main__":
    unittest.main()
