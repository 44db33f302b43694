# SPDX-License-Identifier: GPL-2.0-or-later
"""Proves the harness end to end against Debian's stock jabberd2 2.7, which
later tests use as the interoperability reference: a private router + sm +
c2s node on 127.0.0.2 (SQLite storage and authreg created with jabberd2's
own schema script), two accounts registered in-band with slixmpp, both
logged in, and messages exchanged both ways. Also over STARTTLS with a
certificate made at test time, verified by the client.

Skipped only when the jabberd2 binaries are not installed.
"""

import pytest

from lib import certs, jabberd
from lib.xmpp import XmppError

pytestmark = pytest.mark.stock


def exchange(xmpp, node, tls="none", cafile=None):
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address,
                        tls=tls, cafile=cafile)
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address,
                      tls=tls, cafile=cafile)
    alice.register()
    bob.register()
    alice.login()
    bob.login()

    # To the bare JID: the sm picks bob's available session.
    alice.send_message("bob@localhost", "hello bob")
    got = bob.wait_message(body="hello bob")
    assert got["from"].bare == "alice@localhost"
    assert got["from"] == alice.full_jid  # c2s stamped the sender's full JID

    # And back, to alice's full JID.
    bob.send_message(alice.full_jid, "hello alice")
    got = alice.wait_message(body="hello alice")
    assert got["from"] == bob.full_jid


def test_register_login_message_plain(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor="stock").start()
    exchange(xmpp, node)


def test_register_login_message_starttls(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=2, flavor="stock", tls=True,
                        require_starttls=True).start()
    exchange(xmpp, node, tls="starttls", cafile=str(node.cert.certfile))


def test_registration_of_taken_name_is_refused(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor="stock").start()
    xmpp.client("carol@localhost", "first", node.c2s_address).register()
    again = xmpp.client("carol@localhost", "second", node.c2s_address)
    with pytest.raises(XmppError, match="registration refused: conflict"):
        again.register()
    # The first password still works, the second does not.
    xmpp.client("carol@localhost", "first", node.c2s_address).login()
    with pytest.raises(XmppError, match="authentication failed"):
        xmpp.client("carol@localhost", "second", node.c2s_address).login()


def test_starttls_with_untrusted_certificate_fails(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor="stock", tls=True,
                        require_starttls=True).start()
    # A certificate for the same name, but not the one the server uses.
    other = certs.self_signed(sandbox.dir, "localhost")
    client = xmpp.client("dave@localhost", "pw", node.c2s_address,
                         tls="starttls", cafile=str(other.certfile))
    with pytest.raises(XmppError, match="CERTIFICATE_VERIFY_FAILED"):
        client.register()
