# SPDX-License-Identifier: GPL-2.0-or-later
"""The dist configs (etc/*.xml.dist.in) work as shipped: tools/dist-config
turns them into a node's configs exactly as tools/run-server does (only
the addresses and ports moved to free ones on loopback), our four
daemons start from them, and a client registers, logs in over STARTTLS
with the mechanism it prefers, and exchanges a message. The muc and
the pubsub start from their dist configs too, and the client finds
their services; a node created in the pubsub goes to the shared
database."""

import re
import shutil
import sqlite3
import subprocess

from lib import certs, jabberd, paths

DAEMONS = ("router", "sm", "c2s", "s2s", "muc", "pubsub")


def start_dist_node(sandbox):
    binaries = {d: jabberd.our_binary_or_skip(d) for d in DAEMONS}
    ip = "127.0.0.1"
    ports = {d: sandbox.free_port(ip) for d in ("router", "c2s", "s2s")}
    conf = sandbox.path("dist")
    conf.mkdir()
    cert = certs.self_signed(sandbox.dir, "localhost")
    shutil.copy(cert.pemfile, conf / "server.pem")
    subprocess.run([str(paths.SRCDIR / "tools" / "dist-config"), str(conf), "localhost",
                    ip, str(ports["router"]), str(ports["c2s"]), str(ports["s2s"])],
                   check=True, timeout=paths.scaled(30))
    logs = conf / "var" / "log" / "jabberd"
    for d in DAEMONS:
        ready = (ip, ports[d]) if d in ports else None
        sandbox.start(d, [binaries[d], "-c", str(conf / (d + ".xml"))],
                      logs=[logs / (d + ".log")], ready_port=ready)
    sandbox.daemon("c2s").wait_log(r"localhost is available", timeout=paths.scaled(20))
    sandbox.daemon("muc").wait_log(r"ready for rooms", timeout=paths.scaled(20))
    sandbox.daemon("pubsub").wait_log(r"ready for nodes", timeout=paths.scaled(20))
    return cert, (ip, ports["c2s"]), logs


def test_dist_configs_serve_clients(sandbox, xmpp):
    cert, address, logs = start_dist_node(sandbox)
    a = xmpp.client("ann@localhost", "pw-ann-1", address, tls="starttls",
                    cafile=cert.certfile)
    b = xmpp.client("ben@localhost", "pw-ben-1", address, tls="starttls",
                    cafile=cert.certfile)
    a.register()
    b.register()
    a.login()
    b.login()
    a.send_message("ben@localhost", "from the dist configs")
    msg = b.wait_message(body="from the dist configs")
    assert msg["from"].bare == "ann@localhost"
    c2s_log = (logs / "c2s.log").read_text()
    assert re.search(r"authenticated as ann@localhost \(SCRAM-SHA-(1|256)\)", c2s_log)
    assert "SASL failure" not in c2s_log
    # the group chat service answers for the dist's domain
    info = b.cloop.run(b.xmpp["xep_0030"].get_info(jid="conference.localhost"), 15,
                       "disco#info of the muc")
    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]
    # ... and so does the publish-subscribe service
    b.xmpp.register_plugin("xep_0060")
    info = b.cloop.run(b.xmpp["xep_0030"].get_info(jid="pubsub.localhost"), 15,
                       "disco#info of the pubsub")
    assert "http://jabber.org/protocol/pubsub" in info["disco_info"]["features"]
    b.cloop.run(b.xmpp["xep_0060"].create_node("pubsub.localhost", "dist"), 15,
                "create a node")
    # sm, c2s, muc and pubsub share one SQLite database, as jabberd2's
    # dist files do for sm and c2s.
    dbs = list((sandbox.path("dist") / "var" / "jabberd" / "db").glob("*.db"))
    assert len(dbs) == 1
    con = sqlite3.connect(str(dbs[0]))
    try:
        assert con.execute('SELECT "node", "creator" FROM "pubsub-node"').fetchall() == \
            [("dist", "ben@localhost")]
    finally:
        con.close()
