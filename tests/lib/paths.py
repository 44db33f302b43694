# SPDX-License-Identifier: GPL-2.0-or-later
"""Where things are: the source tree, the build tree under test, the
daemon binaries (ours or Debian's stock jabberd2), and the time scale every
wait in the harness is multiplied by.

Environment:
  JC_BUILDDIR        build tree whose daemons the tests run
                     (default: <srcdir>/build, where tools/run-server builds)
  JC_REQUIRE_DAEMONS if set to 1, a missing daemon binary (ours or Debian's
                     jabberd2) fails the test instead of skipping it;
                     tools/ci-test sets it, having built and installed both
  JC_TIMEOUT_SCALE   multiply every timeout (e.g. 3 under valgrind)
"""

import os
import shutil
from pathlib import Path

SRCDIR = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"

# Our daemons, each built as <builddir>/<name>/<name> by its local.mk.
DAEMONS = ("router", "sm", "c2s", "s2s")

# Debian's jabberd2 package installs its daemons under these names.
STOCK_BINDIR = Path("/usr/sbin")
STOCK_PREFIX = "jabberd2-"
# Plug-ins (authreg, storage, sm modules) of the stock package.
STOCK_LIBDIR_CANDIDATES = (
    Path("/usr/lib/x86_64-linux-gnu/jabberd2"),
    Path("/usr/lib/aarch64-linux-gnu/jabberd2"),
    Path("/usr/lib/jabberd2"),
)
# jabberd2's own SQLite schema script, shipped (gzipped) as documentation.
STOCK_SCHEMA_CANDIDATES = (
    Path("/usr/share/doc/jabberd2/db-setup.sqlite.gz"),
    Path("/usr/share/doc/jabberd2/db-setup.sqlite"),
    Path("/usr/share/jabberd2/db-setup.sqlite"),
)


def builddir():
    """The build tree under test (not required to exist)."""
    env = os.environ.get("JC_BUILDDIR")
    return Path(env).resolve() if env else SRCDIR / "build"


def require_daemons():
    return os.environ.get("JC_REQUIRE_DAEMONS") == "1"


def timeout_scale():
    try:
        scale = float(os.environ.get("JC_TIMEOUT_SCALE", "1"))
    except ValueError:
        scale = 1.0
    return max(scale, 0.1)


def scaled(seconds):
    """A timeout in seconds, scaled for slow (sanitizer, valgrind) runs."""
    return seconds * timeout_scale()


def our_binary(name):
    """Path of our daemon `name` in the build tree, or None if not built."""
    path = builddir() / name / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def stock_binary(name):
    """Path of Debian's jabberd2 daemon `name`, or None if not installed."""
    path = STOCK_BINDIR / (STOCK_PREFIX + name)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def stock_libdir():
    for path in STOCK_LIBDIR_CANDIDATES:
        if (path / "storage_sqlite.so").exists():
            return path
    return None


def stock_schema():
    for path in STOCK_SCHEMA_CANDIDATES:
        if path.exists():
            return path
    return None


def openssl():
    return shutil.which("openssl")
