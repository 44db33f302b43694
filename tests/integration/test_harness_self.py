# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness's own tests: if the sandbox stopped noticing a sanitizer
report, a crash, a daemon that ignores SIGTERM or a severe log line, every
other integration test would pass while hiding it. A stand-in daemon
(tests/lib/fake_daemon.py) misbehaves on request; each test runs it in a
private Sandbox (not the fixture, which would fail the test itself) and
checks what finish() reports.
"""

import signal
import sys
import time

import pytest

from lib import daemon, logscan, paths, sandbox

FAKE = [sys.executable, str(paths.SRCDIR / "tests/lib/fake_daemon.py")]


@pytest.fixture
def box(tmp_path):
    sb = sandbox.Sandbox(tmp_path / "box")
    yield sb
    sb.finish()  # whatever a test left running is stopped


SCAN_CASES = [
    ("==4711==ERROR: AddressSanitizer: heap-use-after-free on address 0x6",
     "sanitizer"),
    ("==4711==ERROR: LeakSanitizer: detected memory leaks", "sanitizer"),
    ("util/nad.c:120:9: runtime error: signed integer overflow", "sanitizer"),
    ("SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior x.c:3:1",
     "sanitizer"),
    ("Sun Nov 22 00:44:20 2026 [critical] cannot allocate", "severe"),
    ("Sun Nov 22 00:44:20 2026 [alert] storage lost", "severe"),
    ("Sun Nov 22 00:44:20 2026 [emergency] gone", "severe"),
    ("Sun Nov 22 00:44:20 2026 [notice] starting up", None),
    ("Sun Nov 22 00:44:20 2026 [error] client sent bad XML", None),
    ("Sun Nov 22 00:44:20 2026 [warning] unknown key c2s.foo", None),
    ("user said: critical alert in the body of a message", None),
]


@pytest.mark.parametrize("line,kind", SCAN_CASES)
def test_scan_classifies_lines(line, kind):
    found = logscan.scan_text("before\n%s\nafter\n" % line, "x.log")
    assert [f.kind for f in found] == ([kind] if kind else [])
    if kind:
        assert found[0].lineno == 2 and line in found[0].excerpt


def test_sanitizer_report_on_stderr_is_reported(box):
    ip = sandbox.node_ip(1)
    port = box.free_port(ip)
    box.start("asan", FAKE + ["--listen", "%s:%d" % (ip, port), "--say",
                              "==99==ERROR: AddressSanitizer: SEGV on unknown address"],
              ready_port=(ip, port))
    problems = box.finish()
    assert len(problems) == 1
    assert "asan.stderr:1: sanitizer report" in problems[0]


def test_severe_line_in_log_file_is_reported(box):
    log = box.path("d.log")
    box.start("d", FAKE + ["--log", str(log), "--log-line",
                           "Sun Nov 22 00:44:20 2026 [critical] bind refused"],
              logs=[log], ready_log=r"\[critical\]")
    problems = box.finish()
    assert problems == ["%s:1: severe report:\nSun Nov 22 00:44:20 2026 "
                        "[critical] bind refused" % log]


def test_clean_daemon_reports_nothing(box):
    ip = sandbox.node_ip(2)
    port = box.free_port(ip)
    d = box.start("ok", FAKE + ["--listen", "%s:%d" % (ip, port), "--delay", "0.3"],
                  ready_port=(ip, port))
    assert d.alive()
    assert box.finish() == []
    assert d.returncode == 0


def test_sigterm_ignored_means_sigkill_and_a_problem(box):
    d = box.start("stubborn", FAKE + ["--ignore-term", "--log", str(box.path("s.log"))],
                  logs=[box.path("s.log")], ready_log="started")
    t0 = time.monotonic()
    problems = d.stop(timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert not d.alive()
    assert any("sent SIGKILL" in p for p in problems)


def test_bad_exit_after_sigterm_from_the_test_is_reported(box):
    log = box.path("t.log")
    d = box.start("leaky", FAKE + ["--term-status", "23", "--log", str(log)],
                  logs=[log], ready_log="started")
    d.signal(signal.SIGTERM)
    d.proc.wait(10)
    assert box.finish() == ["leaky exited with status 23 after SIGTERM"]


def test_crash_during_test_is_reported(box):
    box.start("crashy", FAKE + ["--delay", "0.2", "--segv"])
    time.sleep(1.0)
    problems = box.finish()
    assert any("crashy died on signal 11" in p for p in problems)


def test_early_exit_fails_start_with_its_output(box):
    ip = sandbox.node_ip(1)
    port = box.free_port(ip)
    with pytest.raises(daemon.DaemonError) as e:
        box.start("quitter", FAKE + ["--say", "cannot load config", "--exit", "2"],
                  ready_port=(ip, port), timeout=10)
    assert "exited with status 2" in str(e.value)
    assert "cannot load config" in str(e.value)


def test_wait_log_times_out(box):
    d = box.start("quiet", FAKE)
    t0 = time.monotonic()
    with pytest.raises(daemon.DaemonError, match="timed out"):
        d.wait_log("never printed", timeout=0.5)
    assert time.monotonic() - t0 < 5


def test_ports_are_free_distinct_and_per_node(box):
    got = set()
    for node in (1, 2, 3):
        ip = sandbox.node_ip(node)
        assert ip == "127.0.0.%d" % (node + 1)
        for _ in range(5):
            port = box.free_port(ip)
            assert port not in got
            got.add(port)
            assert sandbox._port_free(ip, port)


def test_template_rendering_is_strict(box):
    tpl = box.write("t.in", "<a>@X@</a><b>${id}</b>")
    out = box.render(tpl, "t.out", X="1")
    assert out.read_text() == "<a>1</a><b>${id}</b>"
    with pytest.raises(sandbox.TemplateError, match="@X@"):
        box.render(tpl, "t2.out", Y="1")
