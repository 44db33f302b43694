# SPDX-License-Identifier: GPL-2.0-or-later
"""jabberd2's published roster (mod_roster_publish) in our sm between the
stock router and c2s, on both storage drivers: with <publish> in sm.xml
the rows of the published-roster table show up in a new user's roster
(mapped group names, check-remove-domain); without it (Debian's default)
nothing does.
"""

import sqlite3

import pytest

from lib import jabberd
from test_sm import OURS, roster_items

PUBLISH = """<user><template><publish>
      <fetch-key><domain/></fetch-key>
      <check-remove-domain>localhost</check-remove-domain>
      <mapped-groups><map-groups/></mapped-groups>
    </publish></template></user>
</sm>"""


def insert(node, table, owner, **cols):
    """One row owned by `owner` in the sm's database, either driver."""
    names = ['"collection-owner"'] + ['"%s"' % k for k in cols]
    vals = [owner] + list(cols.values())
    if node.pg is None:
        con = sqlite3.connect(str(node.db))
        try:
            con.execute('INSERT INTO "%s" (%s) VALUES (%s)' % (
                table, ", ".join(names), ", ".join("?" * len(vals))), vals)
            con.commit()
        finally:
            con.close()
        return

    def lit(v):
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, int):
            return str(v)
        return "'%s'" % v.replace("'", "''")
    node.pg.query('INSERT INTO "%s" (%s) VALUES (%s)' % (
        table, ", ".join(names), ", ".join(lit(v) for v in vals)))


def publish_rows(node):
    for jid, name in (("carol@localhost", "Carol"), ("ghost@localhost", "Ghost"),
                      ("far@example.net", "Far")):
        insert(node, "published-roster", "localhost", jid=jid, group="staff",
               name=name, to=True, **{"from": True}, ask=0)
    insert(node, "published-roster-groups", "staff", groupname="Staff")


def new_user(xmpp, node, name):
    c = xmpp.client("%s@localhost" % name, "%s-pw" % name, node.c2s_address)
    c.register()
    c.login()
    return c


@pytest.mark.stock
def test_published_roster(sandbox, xmpp, sm_storage):
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage)
    conf = node.config("sm")
    conf.write_text(conf.read_text().replace("</sm>", PUBLISH))
    node.start()
    new_user(xmpp, node, "carol").disconnect()
    publish_rows(node)
    bob = new_user(xmpp, node, "bob")
    items = roster_items(bob)
    assert set(items) == {"carol@localhost", "far@example.net"}
    carol = items["carol@localhost"]
    assert carol["name"] == "Carol" and carol["subscription"] == "both"
    assert set(carol["groups"]) == {"Staff"}
    assert node.sm_count("roster-items", "bob@localhost") == 2


@pytest.mark.stock
def test_no_publish_no_change(sandbox, xmpp, sm_storage):
    """roster-publish in user-load (the template has it, as Debian's
    sm.xml) but no <publish>: rows are ignored."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    new_user(xmpp, node, "carol").disconnect()
    publish_rows(node)
    bob = new_user(xmpp, node, "bob")
    assert roster_items(bob) == {}
    assert "roster-publish" not in node.log("sm").read_text()
