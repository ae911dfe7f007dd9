"""The processes of a window test: a virtual X display, a private session bus, mim-presence on
loopback, `mim --json` peers and mim-gtk (see README.md).

Every process is started with PR_SET_PDEATHSIG, so none outlives a test that ctest kills at its
timeout, and Session.close() ends them all in reverse order (SIGTERM, then SIGKILL after a
bounded wait). Waits are polls with a deadline: nothing here sleeps and hopes.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

PR_SET_PDEATHSIG = 1
SCREEN = "1280x800x24"
READY_TIMEOUT = 10.0  # s: a server's or a peer's ready line
STOP_TIMEOUT = 5.0  # s: a process's exit after SIGTERM or `quit`


class TestFailure(Exception):
    """A check of the test failed; the message says what was expected and what was seen."""


def wait_for(what, probe, timeout, interval=0.1):
    """Calls probe() until it returns something true, at most `timeout` seconds; returns that.
    On timeout, fails with `what` and the last value probe() returned."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.0f s waiting for %s (last seen: %r)"
                              % (timeout, what, last))
        time.sleep(interval)  # the poll's period, bounded by the deadline above


def _die_with_parent():
    """Runs in the child between fork and exec: killed when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _read_line(pipe, timeout, what):
    """One line from a child's pipe within the deadline (the child may never write it)."""
    result = []
    reader = threading.Thread(target=lambda: result.append(pipe.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        raise TestFailure("no %s within %.0f s" % (what, timeout))
    return result[0].decode().strip()


class Session:
    """Owns a temporary directory under the build tree and every process started for one test.
    Use as a context manager; logs are kept in the directory and printed when the test fails."""

    def __init__(self, build_dir, name):
        self.build_dir = build_dir
        tmp_root = os.path.join(os.path.abspath(build_dir), "tmp")
        os.makedirs(tmp_root, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="gtk-%s-" % name, dir=tmp_root)
        self.procs = []  # (name, Popen), in start order; stopped in reverse
        self.logs = []
        self.failed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.failed = exc_type is not None
        self.close()
        return False

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, name, argv, env=None, stdin=None, stdout=None, pass_fds=()):
        """Starts argv with stderr (and stdout, unless piped) into NAME.log."""
        log_path = self.path(name + ".log")
        self.logs.append(log_path)
        log = open(log_path, "ab")
        proc = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout if stdout is not None else log, stderr=log,
                                env=env, preexec_fn=_die_with_parent, pass_fds=pass_fds)
        log.close()
        self.procs.append((name, proc))
        return proc

    def stop(self, proc, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL if it has not exited within timeout; returns its status."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def close(self):
        for _name, proc in reversed(self.procs):
            self.stop(proc)
        if self.failed:
            for log_path in self.logs:
                self._dump(log_path)
        elif os.environ.get("MIM_GTK_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _dump(log_path):
        try:
            with open(log_path, "rb") as f:
                text = f.read()[-6000:].decode(errors="replace")
        except OSError:
            return
        print("---- %s (last lines) ----\n%s" % (log_path, text), flush=True)

    # ---- the desktop: X and the session bus ----------------------------------------------------

    def start_desktop(self):
        """A virtual X display (Xvfb picks a free display itself: -displayfd, no race between
        tests run in parallel, unlike xvfb-run -a) and a private session bus (what
        dbus-run-session does; AT-SPI's own bus is started from it on demand). Sets DISPLAY and
        DBUS_SESSION_BUS_ADDRESS in os.environ, before anything talks to AT-SPI."""
        read_fd, write_fd = os.pipe()
        # -noreset: an X server resets when its last client leaves and refuses connections
        # meanwhile; the display check below is such a client, and mim-gtk came just after it
        # ("cannot open display", seen in CI).
        self.spawn("xvfb", ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN,
                            "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            display = _read_line(pipe, READY_TIMEOUT, "display number from Xvfb")
        os.environ["DISPLAY"] = ":" + display
        self._check_display(display)
        bus = self.spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                  "--print-address=1"], stdout=subprocess.PIPE)
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = _read_line(bus.stdout, READY_TIMEOUT,
                                                            "address from dbus-daemon")
        # GTK 4 speaks AT-SPI by default; these make sure nothing in the caller's environment
        # turns it off, and keep the tests away from the caller's settings and notifications.
        os.environ.pop("NO_AT_BRIDGE", None)
        os.environ["GTK_A11Y"] = "atspi"
        os.environ["GSETTINGS_BACKEND"] = "memory"
        os.environ["GSK_RENDERER"] = "cairo"  # no GL under Xvfb: draw in software, at once
        os.environ["MIM_GTK_NO_NOTIFY"] = "1"
        # GTK's recent files and mim-gtk's preferences go to the test's directory, not HOME.
        os.environ["XDG_CONFIG_HOME"] = self.path("config")
        os.environ["XDG_DATA_HOME"] = self.path("data")

    @staticmethod
    def _check_display(display):
        """The display's socket answers: Xvfb listens before it writes its number, so a refusal
        means the number is another server's (or a stale socket): said at once, not as a
        window that never comes."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as x11:
            try:
                x11.connect("/tmp/.X11-unix/X" + display)
            except OSError as error:
                raise TestFailure("Xvfb said display :%s, but it does not answer: %s"
                                  % (display, error))

    def screenshot(self, path, width=None, height=None):
        """The screen (or its top-left WIDTHxHEIGHT: without a window manager every window sits
        there) as a PNG, through ImageMagick's `import`."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        argv = ["import", "-window", "root"]
        if width and height:
            argv += ["-crop", "%dx%d+0+0" % (width, height), "+repage"]
        subprocess.run(argv + [path], check=True, timeout=20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return path


def free_tcp_udp_port():
    """A loopback port number free for TCP and UDP both, now (the server then binds it): the
    assistant's "Find server" asks the typed address's port over UDP."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise TestFailure("no loopback port free for both TCP and UDP")


class Presence:
    """mim-presence on a free loopback port (--port 0: the kernel picks, the ready line says;
    or, for the assistant's "Find server", one port free for TCP and UDP both)."""

    def __init__(self, session, binary, same_udp_port=False):
        self.session = session
        self.binary = binary
        self.data_dir = session.path("presence-data")
        for attempt in range(20):
            port = free_tcp_udp_port() if same_udp_port else 0
            argv = [binary, "--port", str(port), "--discovery-port", str(port), "--bind",
                    "127.0.0.1", "--log-level", "debug", "--data-dir", self.data_dir]
            self.proc = session.spawn("presence", argv, stdout=subprocess.PIPE)
            try:
                self._read_ready()
                return
            except TestFailure:
                # A port found free may be taken before the server binds it: another one.
                if not same_udp_port or attempt == 19:
                    raise
                session.stop(self.proc)

    def _read_ready(self):
        line = _read_line(self.proc.stdout, READY_TIMEOUT, "ready line from mim-presence")
        fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        if not line.startswith("ready ") or "port" not in fields:
            raise TestFailure("unexpected ready line from mim-presence: %r" % line)
        self.port = int(fields["port"])
        self.fingerprint = fields.get("fingerprint", "")
        self.address = "127.0.0.1:%d" % self.port

    def free_name(self, name):
        """The admin's `--free-name NAME` while the server runs: NAME may register a new key."""
        done = subprocess.run([self.binary, "--data-dir", self.data_dir, "--free-name", name],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        if done.returncode != 0:
            raise TestFailure("mim-presence --free-name %s failed: %s" % (name, done.stdout))


class JsonPeer:
    """A `mim --json` process: commands to its stdin, its events read by a thread into a list."""

    def __init__(self, session, binary, name, server, data_dir=None):
        self.session = session
        self.name = name
        self.data_dir = data_dir or session.path("peer-" + name)
        argv = [binary, "--json", "--name", name, "--server", server, "--data-dir",
                self.data_dir, "--download-dir", self.data_dir + "-downloads", "--listen-port",
                "0", "--log-level", "debug"]
        self.proc = session.spawn("json-" + name, argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.expect("ready", timeout=READY_TIMEOUT)

    def _read(self):
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                event = {"event": "unparsed", "line": raw.decode(errors="replace")}
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def cmd(self, **command):
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def find(self, event, start=0, **fields):
        """The first event named `event` at index >= start whose fields equal `fields`."""
        with self.cond:
            for ev in self.events[start:]:
                if ev.get("event") == event and all(ev.get(k) == v for k, v in fields.items()):
                    return ev
        return None

    def expect(self, event, start=0, timeout=10.0, **fields):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = self.find(event, start, **fields)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("%s: no %s event %r within %.0f s; events: %s"
                                      % (self.name, event, fields, timeout,
                                         json.dumps(self.events[-12:])))
                self.cond.wait(left)

    def mark(self):
        """The index of the next event: expect(..., start=mark) sees only what comes after."""
        with self.cond:
            return len(self.events)

    def quit(self):
        self.cmd(cmd="quit")
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not exit within %.0f s of quit" % (self.name, STOP_TIMEOUT))


LSAN_EXIT = 23  # mim-gtk's exit status when LeakSanitizer found leaks (its default)
GTK_STOP_TIMEOUT = 30.0  # s: mim-gtk's exit under ASan (LSan scans the heap; CI is loaded)
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
LSAN_SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + "/"


class GtkApp:
    """mim-gtk on its own data dir (in the session's directory) against the test's server.
    Under ASan its leak check skips the libraries' own (lsan.supp: third-party frames only)."""

    def __init__(self, session, binary, data_dir, args):
        self.session = session
        self.binary = os.path.realpath(binary)
        self.data_dir = data_dir
        self.log = session.path("mim-gtk.log")
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0:exitcode=%d" % (
            LSAN_SUPPRESSIONS, LSAN_EXIT)
        # A leak report is read by check_leaks() rather than aborting at exit: it tells
        # mim's leaks from the libraries'.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                     "abort_on_error=0"]))
        argv = [binary, "--data-dir", data_dir, "--download-dir", data_dir + "-downloads",
                "--listen-port", "0", "--log-level", "debug"]
        self.proc = session.spawn("mim-gtk", argv + list(args), env=env)

    @property
    def pid(self):
        return self.proc.pid

    def check_running(self):
        if self.proc.poll() is not None:
            raise TestFailure("mim-gtk exited with status %d" % self.proc.returncode)

    def finish(self):
        """Closes the window as the desktop does (SIGTERM: mim-gtk quits cleanly); it must exit
        0, and its log must hold no sanitizer report (a leak shows only at this exit)."""
        self.check_running()
        status = self.session.stop(self.proc, GTK_STOP_TIMEOUT)
        if status == LSAN_EXIT:
            check_leaks(self.log, self.binary)
            status = 0
        check_log_clean(self.log)
        if status != 0:
            raise TestFailure("mim-gtk exited with status %d after SIGTERM" % status)


def check_leaks(log_path, binary):
    """mim-gtk's leak report, read: a leak with a frame of mim-gtk itself (a source file of this
    repository, or the binary when symbols are missing) fails the test; one whose every frame is in a library (GTK, GLib, Pango,
    fontconfig ... keep process-lifetime caches they never free) is counted and let go. The
    report is then cut from the log, so that check_log_clean() does not fail on it."""
    with open(log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    start = text.find("ERROR: LeakSanitizer")
    if start < 0:
        raise TestFailure("mim-gtk exited with LSan's status %d but %s has no leak report"
                          % (LSAN_EXIT, log_path))
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of )", text[start:])
    # The sanitizer's own allocator frames (__interceptor_malloc ...) sit in the binary when
    # the runtime is linked in (clang's builds): they say nothing about who leaked.
    ours = [b for b in blocks[1:]
            if any((binary in line or REPO_ROOT in line) and " in __interceptor_" not in line
                   and " in __asan_" not in line and " in __lsan_" not in line
                   for line in b.splitlines()[1:])]
    if ours:
        raise TestFailure("mim-gtk leaked (a stack through mim's code) in %s:\n%s"
                          % (log_path, "\n".join(ours)[:6000]))
    print("mim-gtk: %d leak stacks, all inside third-party libraries (not mim's code)"
          % (len(blocks) - 1), flush=True)
    with open(log_path, "wb") as f:
        f.write(text[:start].encode())


def check_log_clean(log_path):
    """Fails when a mim process's log holds an ASan, LSan or UBSan report."""
    with open(log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    for report in SANITIZER_REPORTS:
        if report in text:
            at = text.index(report)
            raise TestFailure("%s in %s:\n%s"
                              % (report, log_path, text[max(0, at - 200):at + 4000]))
