# SPDX-License-Identifier: GPL-2.0-or-later
"""Session control only from the component that owns the session. Our
router, sm and c2s; another component connected to the router (any
component could: a gateway, an XEP-0114 service) learns alice's session
ids (here from the sm's log; they are random, so it could not guess them)
and tries to end her session at the sm, to send as her, and to send to
her client through c2s as if it were her sm. Each attempt is refused
(the sm returns the request with sc:failed, c2s drops it) and logged, and
her session is untouched: she still gets her messages.
"""

import re
import xml.etree.ElementTree as ET

from lib import jabberd
from test_router import COMP, Component, q
from test_sm import two_users

SESS = "http://jabberd.jabberstudio.org/ns/session/1.0"


def returned(comp, tag):
    """The next route to the component whose payload is `tag` (the sm's
    disco query of a new component is skipped)."""
    for _ in range(20):
        el = comp.expect(q(COMP, "route"))
        if el[0].tag == tag:
            return el[0]
    raise AssertionError("no %s came back" % tag)


def test_foreign_component_cannot_touch_a_session(sandbox, xmpp):
    node = jabberd.Node(sandbox, flavor="ours").start()
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    m = re.search(r"session started: alice@localhost/\S+ \(c2s c2s/(\S+), sm ([0-9a-f]{40})\)",
                  node.log("sm").read_text())
    assert m, "no session start logged"
    cid, smid = m.group(1), m.group(2)
    evil = Component((node.ip, node.router_port))
    assert evil.auth(node.router_user, node.router_pass)
    assert evil.bind("evil.localhost").get("error") is None
    sm, c2s = node.daemons["sm"], node.daemons["c2s"]
    # End her session at the sm.
    evil.route("sm", "evil.localhost",
               "<sc:session xmlns:sc='%s' sc:c2s='%s' sc:sm='%s' action='end'/>"
               % (SESS, cid, smid))
    el = returned(evil, q(SESS, "session"))
    assert el.get("{%s}failed" % SESS) == "1", ET.tostring(el)
    assert el.get("action") == "end"
    sm.wait_log(r"evil.localhost tried to end the session %s" % smid)
    # Send as her.
    evil.route("sm", "evil.localhost",
               "<message xmlns='jabber:client' xmlns:sc='%s' sc:c2s='%s' sc:sm='%s' "
               "to='bob@localhost'><body>forged</body></message>" % (SESS, cid, smid))
    el = returned(evil, "{jabber:client}message")
    assert el.get("{%s}failed" % SESS) == "1", ET.tostring(el)
    sm.wait_log(r"evil.localhost sent a stanza as the session %s" % smid)
    # Speak to her client as if it were her sm.
    evil.route("c2s", "evil.localhost",
               "<message xmlns='jabber:client' xmlns:sm='%s' sm:c2s='%s' sm:sm='%s' "
               "from='bob@localhost/x' to='alice@localhost'><body>fake</body></message>"
               % (SESS, cid, smid))
    c2s.wait_log(r"a stanza for alice@localhost/\S+ from evil.localhost, not its sm")
    # Her session is untouched and nothing forged arrived: the next
    # messages each way are the real ones.
    bob.send_message(str(alice.full_jid), "real 1")
    got = alice.wait_message(sender="bob@localhost")
    assert got["body"] == "real 1"
    alice.send_message(str(bob.full_jid), "real 2")
    got = bob.wait_message(sender="alice@localhost")
    assert got["body"] == "real 2"
    assert alice.xmpp.transport is not None and not alice.errors
    evil.close()
