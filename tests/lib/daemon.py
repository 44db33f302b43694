# SPDX-License-Identifier: GPL-2.0-or-later
"""One daemon process under test: started with its stdout and stderr in
files, waited on until it accepts TCP connections or logs a line, and
stopped with SIGTERM, then SIGKILL after a bound. Every wait here has a
deadline; nothing blocks forever.

The Sandbox (sandbox.py) creates these and checks their output at the end.
"""

import os
import re
import signal
import socket
import subprocess
import time

from . import paths

POLL = 0.05          # seconds between polls
STOP_TIMEOUT = 10.0  # SIGTERM to SIGKILL
KILL_TIMEOUT = 5.0   # SIGKILL to giving up


class DaemonError(Exception):
    """A daemon failed to start, died, or never showed what was awaited."""


class Daemon:
    """A started process. `logs` are the extra files it writes (its
    configured log file), scanned together with stdout and stderr."""

    def __init__(self, name, argv, workdir, env, logs=()):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.stdout_path = workdir / (name + ".stdout")
        self.stderr_path = workdir / (name + ".stderr")
        self.logs = [workdir / p if not os.path.isabs(str(p)) else p
                     for p in logs]
        # The terminating signal sent to it (by stop() or by the test
        # through signal()), None while none was sent.
        self.term_signal = None
        self.killed = False
        self.stopped = False
        # Set by a test that expects the daemon to exit by itself.
        self.expect_exit = False
        # What stop() found wrong, kept for the sandbox's final report.
        self.problems = []
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            # A session of its own: a Ctrl-C aimed at pytest does not reach
            # the daemon before the harness stops it in order.
            self.proc = subprocess.Popen(
                self.argv, cwd=str(workdir), env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True)
        self.pid = self.proc.pid

    def __repr__(self):
        return "<Daemon %s pid %d>" % (self.name, self.pid)

    @property
    def returncode(self):
        return self.proc.poll()

    def alive(self):
        return self.proc.poll() is None

    def files(self):
        """Every file this daemon writes output to."""
        return [self.stdout_path, self.stderr_path] + list(self.logs)

    def output(self):
        """All captured output so far, file by file, as one string."""
        parts = []
        for path in self.files():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            parts.append("--- %s ---\n%s" % (path, text))
        return "\n".join(parts)

    def tail(self, lines=25):
        """The last lines of each output file, for error messages."""
        parts = []
        for path in self.files():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            if text.strip():
                body = "\n".join(text.splitlines()[-lines:])
                parts.append("--- %s (tail) ---\n%s" % (path, body))
        return "\n".join(parts) or "(no output)"

    def _check_alive(self, what):
        if not self.alive():
            raise DaemonError("%s exited with status %s while waiting for %s\n%s"
                              % (self.name, self.proc.returncode, what,
                                 self.tail()))

    def wait_port(self, host, port, timeout=20.0):
        """Wait until host:port accepts a TCP connection. Raises DaemonError
        if the daemon exits first or the scaled timeout passes."""
        deadline = time.monotonic() + paths.scaled(timeout)
        what = "%s:%d to accept connections" % (host, port)
        while True:
            self._check_alive(what)
            try:
                with socket.create_connection((host, port), timeout=1.0):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise DaemonError("%s: timed out waiting for %s\n%s"
                                  % (self.name, what, self.tail()))
            time.sleep(POLL)

    def mark(self):
        """Current sizes of the output files; pass to wait_log(since=) to
        look only at what is written after this point."""
        sizes = {}
        for path in self.files():
            try:
                sizes[path] = path.stat().st_size
            except FileNotFoundError:
                sizes[path] = 0
        return sizes

    def _search(self, regex, since):
        for path in self.files():
            try:
                with open(path, "rb") as f:
                    f.seek((since or {}).get(path, 0))
                    text = f.read().decode("utf-8", errors="replace")
            except FileNotFoundError:
                continue
            m = regex.search(text)
            if m:
                return m
        return None

    def wait_log(self, pattern, timeout=20.0, since=None):
        """Wait until a line matching `pattern` (a regex) appears in any of
        the daemon's output files; returns the match. Raises DaemonError if
        the daemon exits first or the scaled timeout passes."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + paths.scaled(timeout)
        while True:
            m = self._search(regex, since)
            if m:
                return m
            self._check_alive("log line /%s/" % pattern)
            if time.monotonic() > deadline:
                raise DaemonError("%s: timed out waiting for log line /%s/\n%s"
                                  % (self.name, pattern, self.tail()))
            time.sleep(POLL)

    def signal(self, sig):
        """Send `sig`. A test that stops the daemon this way (SIGTERM,
        SIGINT) is held to the same rule as stop(): exit status 0."""
        if self.alive():
            if sig in (signal.SIGTERM, signal.SIGINT):
                self.term_signal = sig
            self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM (unless a terminating signal was sent already), then
        SIGKILL if it is still running after the (scaled) timeout. Returns
        a list of problems: it died on a signal or exited by itself during
        the test, it needed SIGKILL, it would not die, or it exited with a
        failure status after SIGTERM. They are also kept in self.problems,
        which the sandbox reports when the test ends. Stopping twice
        reports nothing new."""
        if self.stopped:
            return []
        self.stopped = True
        problems = self._stop(timeout)
        self.problems.extend(problems)
        return problems

    def _stop(self, timeout):
        problems = []
        if self.alive():
            if self.term_signal is None:
                self.term_signal = signal.SIGTERM
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(paths.scaled(timeout))
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                problems.append("%s still running %.0f s after SIGTERM; sent SIGKILL"
                                % (self.name, paths.scaled(timeout)))
                try:
                    self.proc.wait(KILL_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append("%s (pid %d) survived SIGKILL"
                                    % (self.name, self.pid))
                return problems
        rc = self.proc.returncode
        how = ("signal %d" % -rc) if rc < 0 else ("status %d" % rc)
        if self.term_signal is not None:
            if rc != 0:
                problems.append("%s exited with %s after %s"
                                % (self.name, how,
                                   signal.Signals(self.term_signal).name))
        elif rc < 0:
            problems.append("%s died on signal %d during the test"
                            % (self.name, -rc))
        elif not self.expect_exit:
            problems.append("%s exited by itself during the test with %s"
                            % (self.name, how))
        return problems
