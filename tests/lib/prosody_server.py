# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian's prosody on a loopback address, as the remote server of an s2s
interop test: one virtual host, plain c2s for the test's clients,
dialback (and TLS with a certificate) for federation, and the address of
the one peer domain it federates with from the test-only
tests/lib/prosody/mod_jc_static_s2s.lua, so prosody never queries DNS.

    c2s, s2s, domain = prosody_server.start(sandbox, our_s2s)

`our_s2s` is an s2s.S2S (or NodeS2S) whose node's domain prosody reaches
at that s2s's address and port. Skips the test, with the reason, when
prosody is not installed.
"""

import shutil

import pytest

from . import paths

PROSODY = shutil.which("prosody")


def start(sandbox, peer_s2s, ip="127.0.0.3", domain="p.test", cert=None, cachain=None):
    """Start prosody serving `domain` on `ip` (c2s and s2s on free ports),
    knowing `peer_s2s`'s domain at its listener; with `cert` (a certs.Cert)
    and `cachain`, TLS is offered and required on s2s. Returns (c2s
    address, s2s address, domain)."""
    if PROSODY is None:
        pytest.skip("prosody is not installed (tools/install-deps --test)")
    d = sandbox.path("prosody")
    (d / "data").mkdir(parents=True, exist_ok=True)
    c2s_port = sandbox.free_port(ip)
    s2s_port = sandbox.free_port(ip)
    cfg = d / "prosody.cfg.lua"
    ssl = ""
    if cert is not None:
        ssl = 'ssl = { certificate = "%s"; key = "%s"; cafile = "%s" }' % (
            cert.certfile, cert.keyfile, cachain)
    sandbox.render("prosody/prosody.cfg.lua.in", cfg, DIR=d,
                   PLUGINS=paths.TEMPLATES.parent / "prosody", IP=ip,
                   C2S_PORT=c2s_port, S2S_PORT=s2s_port, DOMAIN=domain,
                   PEER=peer_s2s.node.domain, PEER_IP=peer_s2s.ip,
                   PEER_PORT=peer_s2s.port, SSL=ssl,
                   EXTRA_MODULES=', "tls"' if cert else "",
                   S2S_REQUIRE_ENCRYPTION="true" if cert else "false")
    sandbox.start("prosody", [PROSODY, "-F", "--config", str(cfg)],
                  logs=[d / "prosody.log"], ready_port=(ip, c2s_port))
    return (ip, c2s_port), (ip, s2s_port), domain
