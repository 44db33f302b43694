# SPDX-License-Identifier: GPL-2.0-or-later
"""Scanning daemon output for things that must fail a test even when every
assertion passed: sanitizer reports (ASan, LSan, UBSan, ...) and log lines
at alert or critical level (jabberd2's log format, which ours keeps:
"<ctime> [<level>] <text>").

The sandbox runs this over every captured stdout, stderr and log file when a
test ends; tests may call it directly too.
"""

import re

# A sanitizer report anywhere on a line.
SANITIZER_RE = re.compile(
    r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
    r"ThreadSanitizer|MemorySanitizer|runtime error:)")

# A log line at emergency, alert or critical level.
SEVERE_RE = re.compile(r"\[(emergency|emerg|alert|critical|crit)\]", re.I)

CONTEXT_LINES = 12


class Finding:
    """One offending line: the file, its 1-based line number, a kind
    ("sanitizer" or "severe") and the text with a few lines after it."""

    def __init__(self, path, lineno, kind, excerpt):
        self.path = path
        self.lineno = lineno
        self.kind = kind
        self.excerpt = excerpt

    def __str__(self):
        return "%s:%d: %s report:\n%s" % (self.path, self.lineno, self.kind,
                                         self.excerpt)


def scan_text(text, path="<text>"):
    """Findings in `text`. A sanitizer report counts once, at its first
    line, with the lines after it as context (its stack trace)."""
    lines = text.splitlines()
    findings = []
    skip_until = -1
    for i, line in enumerate(lines):
        if i <= skip_until:
            continue
        if SANITIZER_RE.search(line):
            kind = "sanitizer"
        elif SEVERE_RE.search(line):
            kind = "severe"
        else:
            continue
        end = min(len(lines), i + CONTEXT_LINES) if kind == "sanitizer" else i + 1
        findings.append(Finding(path, i + 1, kind, "\n".join(lines[i:end])))
        if kind == "sanitizer":
            skip_until = end - 1
    return findings


def scan_file(path):
    """Findings in the file at `path`; a missing file has none."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return scan_text(f.read(), str(path))
    except FileNotFoundError:
        return []
