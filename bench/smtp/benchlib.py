"""Shared pieces of the SMTP benchmarks (bench/smtp/run, bench/smtp/idle_connections).

Debian packages, free loopback ports, process supervision (every process started here is stopped by
its PID, also when a run fails or is interrupted), smtp-sink, a private Postfix instance that lives
entirely under a temporary directory, and `sinetti serve` on a generated configuration. Nothing here
contacts any address but 127.0.0.1. Runs with Debian's /usr/bin/python3 and its standard library only.
"""
import ctypes
import json
import os
import pathlib
import pwd
import re
import resource
import shutil
import signal
import smtplib
import socket
import string
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_SINETTI = REPO / "build" / "release" / "gateway" / "sinetti"
SINETTI_TEMPLATE = HERE / "sinetti-bench.yaml"

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
LOOPBACK = "127.0.0.1"

# Addresses used by every path. The domains are reserved example names; nothing is resolved.
TEAM_ADDRESS = "neuvonta@bench.example.fi"          # a team's public address: the forward path
TEAM_MAILBOX = "neuvonta-tiimi@intra.bench.example.fi"
CITIZEN = "asiakas@citizen.example.com"              # an outside sender, and a protect recipient
PROTECTED_RECIPIENT = CITIZEN + ".s"                 # the address suffix marks the mail protected
STAFF = "virkailija@bench.example.fi"


def log(*parts):
    print("bench:", *parts, file=sys.stderr, flush=True)


class Failure(Exception):
    """A benchmark step could not be carried out; the text says why (it is reported, not hidden)."""


# ---------------------------------------------------------------------------------------------
# Debian packages

def ensure_postfix(install=True):
    """Makes sure smtp-source, smtp-sink and postfix exist; installs Debian's postfix if allowed.

    The package is preseeded with "No configuration", so it neither writes /etc/postfix/main.cf nor
    starts a system-wide Postfix; the benchmark runs its own instance under a temporary directory."""
    missing = [p for p in (SMTP_SINK, SMTP_SOURCE, POSTFIX) if not os.access(p, os.X_OK)]
    if not missing:
        return
    if not install:
        raise Failure(f"{', '.join(missing)} missing (Debian package postfix); run without --no-install")
    if os.geteuid() != 0:
        raise Failure("postfix is not installed and installing it needs root: "
                      "apt-get install postfix (answer 'No configuration')")
    log("installing Debian package postfix (No configuration)")
    subprocess.run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n",
                   text=True, check=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postfix"]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)


# ---------------------------------------------------------------------------------------------
# Machine facts recorded with every result

def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def filesystem_of(path):
    """The type of the file system holding path (ext4, tmpfs, ...): fsync means nothing on tmpfs."""
    path = os.path.realpath(path)
    best, fstype = "", "unknown"
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            mount = fields[1].replace("\\040", " ")
            if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                best, fstype = mount, fields[2]
    return fstype


def host_facts(workdir):
    uname = os.uname()
    return {"cpus": os.cpu_count(), "kernel": uname.release, "loadavg_at_start": loadavg(),
            "workdir_filesystem": filesystem_of(workdir),
            "memory_total_kib": _meminfo("MemTotal")}


def _meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def proc_status(pid):
    """VmHWM (peak RSS) and VmRSS of a process, in KiB, from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def proc_pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stat_fields(pid):
    """The fields of /proc/PID/stat after "pid (comm)" — state first, then ppid, ... (stat(5) field 3
    on) — or None for a process that is gone. comm may hold spaces and parentheses, so the split is
    after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()


def tree_cpu_seconds(pid):
    """CPU time (user + system, seconds) a process and its descendants have used so far: the live
    ones as /proc shows them now, the ended ones through the times their parents reaped (cutime,
    cstime). The difference of two readings is the tree's CPU in between, also when processes
    started and ended in it (Postfix's master reaps its daemons); 0 for a process that is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants_of(pid)]:
        fields = stat_fields(p)
        if fields:  # utime, stime, cutime, cstime: stat(5) fields 14 to 17
            total += sum(int(x) for x in fields[11:15])
    return total / tick


def reaped_children_cpu_seconds():
    """User + system CPU of this process's children that have been waited for (getrusage)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def children_of(pid):
    """PIDs whose parent is pid (read from /proc, no ps)."""
    kids = []
    for entry in os.listdir("/proc"):
        fields = stat_fields(entry) if entry.isdigit() else None
        if fields and len(fields) > 1 and int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(entry))
    return kids


def descendants_of(pid):
    out, todo = [], [pid]
    while todo:
        for kid in children_of(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def raise_nofile(needed):
    """Raises RLIMIT_NOFILE to at least `needed` (the hard limit too when running as root).
    Processes started afterwards inherit it. Returns the soft limit in force."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard < needed and os.geteuid() == 0:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                hard = max(hard, min(int(f.read()), needed))
        except OSError:
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------------------------------------
# Ports and process supervision

class Ports:
    """Free TCP ports on 127.0.0.1, found at run time (other people run servers on this machine)."""

    def __init__(self):
        self.taken = set()

    def free(self):
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((LOOPBACK, 0))
                port = s.getsockname()[1]
            if port not in self.taken:
                self.taken.add(port)
                return port
        raise Failure("no free port on 127.0.0.1")


class Supervisor:
    """Starts processes and stops every one of them by PID: the ones it started, and any process
    they left behind (this process is made a child subreaper, so orphaned descendants such as
    Postfix's daemons are re-parented here instead of to init, and can be found and ended).
    SIGTERM, SIGINT and SIGHUP turn into SystemExit so that the caller's `finally` runs."""

    PR_SET_CHILD_SUBREAPER = 36

    def __init__(self):
        self.procs = []
        self.stoppers = []
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(self.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except OSError:
            pass
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    @staticmethod
    def _on_signal(signum, _frame):
        log(f"stopping on signal {signum}; ending every process started here")
        raise SystemExit(128 + signum)

    def start(self, argv, **kwargs):
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen([str(a) for a in argv], **kwargs)
        self.procs.append(proc)
        return proc

    def on_cleanup(self, fn):
        """fn() runs at cleanup, before the remaining processes are signalled (e.g. `postfix stop`)."""
        self.stoppers.append(fn)

    @staticmethod
    def stop(proc, timeout=20):
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def cleanup(self):
        for fn in reversed(self.stoppers):
            try:
                fn()
            except Exception as e:  # cleanup goes on whatever one step did
                log(f"cleanup step failed: {e}")
        self.stoppers.clear()
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()
        self._end_orphans()

    def _end_orphans(self):
        me = os.getpid()
        deadline = time.monotonic() + 15
        sig = signal.SIGTERM
        while True:
            self._reap()
            left = descendants_of(me)
            if not left:
                return
            if time.monotonic() > deadline:
                sig = signal.SIGKILL
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    @staticmethod
    def _reap():
        # Only orphans re-parented to us are reaped here; Popen children were waited for above.
        for pid in _zombie_children(os.getpid()):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _zombie_children(pid):
    out = []
    for entry in os.listdir("/proc"):
        fields = stat_fields(entry) if entry.isdigit() else None
        if fields and len(fields) > 1 and fields[0] == "Z" and int(fields[1]) == pid:
            out.append(int(entry))
    return out


def smtp_greeting(port, timeout=10.0, proc=None):
    """Waits until something on 127.0.0.1:port answers with an SMTP 220 greeting.
    Returns None when it does, or the reason it did not."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"the server exited with status {proc.returncode}"
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2) as s:
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return None
                last = f"greeting was {data[:80]!r}"
        except ConnectionRefusedError:
            last = f"connection to 127.0.0.1:{port} refused"
        except OSError as e:
            last = f"127.0.0.1:{port}: {e}"
        time.sleep(0.05)
    return last


# ---------------------------------------------------------------------------------------------
# smtp-sink and smtp-source

def _sink_user_options():
    # smtp-sink refuses to run as root unless told which user to switch to after binding.
    if os.geteuid() != 0:
        return []
    for user in ("postfix", "nobody"):
        try:
            pwd.getpwnam(user)
            return ["-u", user]
        except KeyError:
            continue
    raise Failure("smtp-sink runs as root only with -u USER, and neither postfix nor nobody exists")


class Sink:
    """Postfix's smtp-sink on 127.0.0.1: accepts mail and throws it away. With counting (-c) it
    writes running counters after every message, which count() reads; without, it does nothing
    but the protocol (the ceiling measurement)."""

    def __init__(self, sup, ports, workdir, name, max_connections=256, counting=True):
        self.sup, self.ports = sup, ports
        self.out_path = pathlib.Path(workdir) / f"{name}.counters"
        self.max_connections = max_connections
        self.counting = counting
        self.port = None
        self.proc = None

    def start(self):
        for _attempt in range(3):
            self.port = self.ports.free()
            argv = [SMTP_SINK, *(["-c"] if self.counting else []), *_sink_user_options(), "-h", "sink.bench.invalid",
                    "-m", self.max_connections, f"{LOOPBACK}:{self.port}", 1024]
            self.out = open(self.out_path, "wb")
            self.proc = self.sup.start(argv, stdout=self.out, stderr=subprocess.STDOUT)
            why = smtp_greeting(self.port, timeout=10, proc=self.proc)
            if why is None:
                return self
            self.sup.stop(self.proc)
            self.out.close()
        raise Failure(f"smtp-sink did not start: {why}; {self._tail(200)!r}")

    def _tail(self, n=256):
        try:
            with open(self.out_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - n))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def count(self):
        """Messages received so far ("." answered), from smtp-sink's running counters."""
        if not self.counting:
            raise Failure("this smtp-sink was started without counters")
        found = re.findall(r"mesg=(\d+)", self._tail())
        return int(found[-1]) if found else 0

    def wait_count(self, target, deadline):
        """Polls until count() >= target or the monotonic deadline passes; returns (count, time)."""
        while True:
            n = self.count()
            now = time.monotonic()
            if n >= target or now >= deadline:
                return n, now
            time.sleep(0.01)

    def stop(self):
        if self.proc is not None:
            self.sup.stop(self.proc)
            self.out.close()
            self.proc = None


def smtp_source_argv(port, messages, sessions, size, sender, recipient, reuse=False):
    argv = [SMTP_SOURCE, "-s", sessions, "-m", messages, "-l", size, "-M", "source.bench.invalid",
            "-f", sender, "-t", recipient]
    if reuse:
        argv.append("-d")
    argv.append(f"{LOOPBACK}:{port}")
    return [str(a) for a in argv]


def run_smtp_source(argv, timeout):
    """Runs smtp-source; returns (seconds, returncode, stderr). smtp-source stops at the first
    reply that is not the positive one it expects, so a non-zero status means not all were taken."""
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t0, None, f"smtp-source did not finish within {timeout:.0f} s"
    return time.monotonic() - t0, r.returncode, (r.stderr + r.stdout).strip()


class CpuMeter:
    """CPU used between start() and stop() by process trees (by PID) and by the children this
    process waits for in between (smtp-source), in microseconds per message."""

    def __init__(self, trees):
        self.trees = dict(trees)  # name -> pid

    def start(self):
        self.t0 = {name: tree_cpu_seconds(pid) for name, pid in self.trees.items()}
        self.children0 = reaped_children_cpu_seconds()
        return self

    def stop(self, messages):
        out = {f"{name}_cpu_us_per_message": 1e6 * (tree_cpu_seconds(pid) - self.t0[name]) / messages
               for name, pid in self.trees.items()}
        out["smtp_source_cpu_us_per_message"] = 1e6 * (reaped_children_cpu_seconds() - self.children0) / messages
        return out


def probe_message(sender, recipient, size):
    """A message shaped like smtp-source's: From, To, Date, Message-Id, then `size` bytes of
    80-character lines ("1XXX...", "2XXX...")."""
    lines, left, n = [], size, 1
    while left > 0:
        line = (str(n) + "X" * 78)[:max(0, min(78, left - 2))]
        lines.append(line)
        left -= len(line) + 2
        n += 1
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    head = (f"From: <{sender}>\r\nTo: <{recipient}>\r\nDate: {date}\r\n"
            f"Message-Id: <probe.{os.getpid()}.{time.time_ns()}@source.bench.invalid>\r\n\r\n")
    return head + "".join(line + "\r\n" for line in lines)


def smtp_probe(port, sender, recipient, size, timeout=30):
    """Sends one message with Python's smtplib. Returns None when the server answered 250 to the
    end of DATA, otherwise the reason (the first step that failed and the server's reply)."""
    step = "connect"
    try:
        with smtplib.SMTP(timeout=timeout) as s:
            code, msg = s.connect(LOOPBACK, port)
            if code != 220:
                return f"greeting {code} {msg.decode(errors='replace')}"
            step = "EHLO"
            code, msg = s.ehlo("source.bench.invalid")
            if code != 250:
                return f"EHLO answered {code} {msg.decode(errors='replace')}"
            step = "MAIL FROM"
            code, msg = s.mail(sender)
            if code != 250:
                return f"MAIL FROM:<{sender}> answered {code} {msg.decode(errors='replace')}"
            step = "RCPT TO"
            code, msg = s.rcpt(recipient)
            if code not in (250, 251):
                return f"RCPT TO:<{recipient}> answered {code} {msg.decode(errors='replace')}"
            step = "DATA"
            code, msg = s.data(probe_message(sender, recipient, size).encode())
            if code != 250:
                return f"end of DATA answered {code} {msg.decode(errors='replace')}"
    except ConnectionRefusedError:
        return f"no SMTP listener on 127.0.0.1:{port} (connection refused)"
    except smtplib.SMTPResponseException as e:
        return f"{step} answered {e.smtp_code} {e.smtp_error.decode(errors='replace')}"
    except (smtplib.SMTPException, OSError) as e:
        return f"{step} failed: {e}"
    return None


# ---------------------------------------------------------------------------------------------
# A private Postfix instance

class PostfixInstance:
    """Postfix with its own config_directory, queue_directory and data_directory under `root`,
    smtpd on a free port of 127.0.0.1, everything relayed to [127.0.0.1]:relay_port, no local
    delivery. The queue is durable as Postfix always is: queue files are fsynced before the 250.
    Never touches /etc/postfix (only reads the package's postfix-files from meta_directory) or a
    system-wide Postfix."""

    def __init__(self, sup, ports, root, relay_port, smtpd_maxproc=None, extra_main=None):
        self.sup, self.ports = sup, ports
        self.root = pathlib.Path(root)
        self.etc, self.queue, self.data = self.root / "etc", self.root / "queue", self.root / "data"
        self.maillog = self.root / "maillog"
        self.relay_port = relay_port
        self.smtpd_maxproc = smtpd_maxproc
        self.extra_main = extra_main or {}
        self.port = None
        self.proc = None

    def _main_cf(self):
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "meta_directory": "/etc/postfix",        # the package's postfix-files; read only
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": LOOPBACK,
            "inet_protocols": "ipv4",
            "myhostname": "postfix.bench.invalid",
            "mydomain": "bench.invalid",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "local_transport": "error:5.1.1 local delivery is disabled in the benchmark",
            "relayhost": f"[{LOOPBACK}]:{self.relay_port}",
            "default_transport": "smtp",
            "relay_transport": "smtp",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "smtpd_peername_lookup": "no",
            "biff": "no",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.root,
        }
        settings.update(self.extra_main)
        return "".join(f"{k} = {v}\n" for k, v in settings.items())

    def _master_cf(self):
        maxproc = self.smtpd_maxproc or "-"
        # service type private unpriv chroot wakeup maxproc command: nothing chrooted, so nothing
        # has to be copied into the queue directory.
        return f"""{LOOPBACK}:{self.port} inet n - n - {maxproc} smtpd
pickup     unix n - n 60 1 pickup
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp       unix - - n - - smtp
relay      unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
"""

    def start(self):
        if os.geteuid() != 0:
            raise Failure("Postfix's master runs as root (this run is not root)")
        for d in (self.etc, self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        for _attempt in range(3):
            self.port = self.ports.free()
            (self.etc / "main.cf").write_text(self._main_cf())
            (self.etc / "master.cf").write_text(self._master_cf())
            r = subprocess.run([POSTFIX, "-c", self.etc, "check"], capture_output=True, text=True)
            if r.returncode != 0:
                raise Failure(f"postfix check failed: {(r.stderr + r.stdout).strip()} {self._log_tail()}")
            self.out = open(self.root / "postfix.out", "wb")
            self.proc = self.sup.start([POSTFIX, "-c", self.etc, "start-fg"], stdout=self.out,
                                       stderr=subprocess.STDOUT)
            self.sup.on_cleanup(self.stop)
            why = smtp_greeting(self.port, timeout=30, proc=self.proc)
            if why is None:
                return self
            self.stop()
        raise Failure(f"Postfix did not start: {why}; {self._log_tail()}")

    def master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _log_tail(self, lines=5):
        try:
            return " | ".join(self.maillog.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_counts(self):
        counts = {"sent": 0, "deferred": 0, "bounced": 0}
        try:
            text = self.maillog.read_text(errors="replace")
        except OSError:
            return counts
        for status in counts:
            counts[status] = text.count(f"status={status}")
        return counts

    def version(self):
        r = subprocess.run(["/usr/sbin/postconf", "-h", "-d", "mail_version"], capture_output=True, text=True)
        return r.stdout.strip()

    def stop(self):
        """Stops the master by its PID (it stops its children), then the start-fg wrapper."""
        if self.proc is None:
            return
        pid = self.master_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 20
            while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists(f"/proc/{pid}") and _state(pid) != "Z":
                os.kill(pid, signal.SIGKILL)
        self.sup.stop(self.proc)
        self.out.close()
        self.proc = None


def _state(pid):
    fields = stat_fields(pid)
    return fields[0] if fields else None


# ---------------------------------------------------------------------------------------------
# sinetti serve

def render_sinetti_config(ports, relay_port, template=SINETTI_TEMPLATE, relay_reuse_idle=None):
    """The benchmark configuration with free ports filled in. Returns (text, ports used).
    relay_reuse_idle (a duration such as "0s") sets delivery.relay.reuse.idle; None leaves the key
    out, so binaries from before connection reuse accept the configuration too."""
    values = {"inbound_port": ports.free(), "submission_port": ports.free(), "portal_port": ports.free(),
              "admin_port": ports.free(), "relay_port": relay_port,
              "relay_reuse": "" if relay_reuse_idle is None else f", reuse: {{idle: {relay_reuse_idle}}}"}
    text = string.Template(pathlib.Path(template).read_text()).substitute(values)
    return text, values


class Sinetti:
    """`sinetti serve` in its own working directory (state under var/ there), relaying to a sink.
    Its JSON event log (stderr) goes to a file, read back for events and reasons."""

    def __init__(self, sup, ports, binary, workdir, relay_port, relay_reuse_idle=None):
        self.sup, self.ports = sup, ports
        self.relay_reuse_idle = relay_reuse_idle
        self.binary = pathlib.Path(binary)
        self.dir = pathlib.Path(workdir)
        self.relay_port = relay_port
        self.proc = None
        self.version = None
        self.config = self.dir / "sinetti.yaml"
        self.log_path = self.dir / "sinetti.log"

    def prepare(self):
        """Writes the configuration and checks it with `sinetti check-config`. Returns None or why not."""
        if not os.access(self.binary, os.X_OK):
            return (f"no sinetti binary at {self.binary} (build it: cmake --preset release && "
                    f"cmake --build build/release -j2, or pass --sinetti PATH)")
        self.dir.mkdir(parents=True, exist_ok=True)
        text, self.port_values = render_sinetti_config(self.ports, self.relay_port,
                                                       relay_reuse_idle=self.relay_reuse_idle)
        self.config.write_text(text)
        r = subprocess.run([self.binary, "check-config", "--config", self.config], cwd=self.dir,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            first = (r.stderr.strip() or r.stdout.strip()).splitlines()[:1]
            return f"check-config refused the benchmark configuration: {first[0] if first else r.returncode}"
        return None

    @property
    def inbound_port(self):
        return self.listener_port("inbound", self.port_values["inbound_port"])

    @property
    def submission_port(self):
        return self.listener_port("submission", self.port_values["submission_port"])

    def listener_port(self, name, configured):
        for e in self.events():
            if e.get("event") == "listening" and e.get("listener") == name and "address" in e:
                try:
                    return int(str(e["address"]).rsplit(":", 1)[1])
                except ValueError:
                    pass
        return configured

    def events(self):
        out = []
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append({"event": "text", "line": line.rstrip("\n")})
        except OSError:
            pass
        return out

    def start(self, timeout=60):
        """Starts serve and waits for its "started" event. Returns None or why it did not start."""
        self.log_file = open(self.log_path, "wb")
        self.proc = self.sup.start([self.binary, "serve", "--config", self.config], cwd=self.dir,
                                   stdout=subprocess.DEVNULL, stderr=self.log_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events():
                if e.get("event") == "started":
                    self.version = e.get("version")
                    return None
            if self.proc.poll() is not None:
                last = self.events()[-1:] or [{}]
                return f"sinetti serve exited with status {self.proc.returncode}: {json.dumps(last[0])}"
            time.sleep(0.05)
        return f"sinetti serve logged no 'started' event within {timeout} s"

    def rss(self):
        return proc_status(self.proc.pid) if self.proc and self.proc.poll() is None else {}

    def stop(self):
        if self.proc is not None:
            self.sup.stop(self.proc)
            self.log_file.close()
            self.proc = None


def make_workdir(parent, keep):
    """A private directory for one run. Under /var/tmp by default: on a disk (fsync is real there;
    /tmp may be tmpfs) and outside the checkout. Traversable by the postfix user."""
    d = tempfile.mkdtemp(prefix="sinetti-bench-", dir=parent)
    os.chmod(d, 0o755)
    return pathlib.Path(d)


def remove_workdir(path, keep):
    if keep:
        log(f"kept the run's files in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)
