# SPDX-License-Identifier: GPL-2.0-or-later
"""Migration from Debian's jabberd2 2.7 as an operator does it (issue 15,
"Done when"): jabberd2's router, sm and c2s run from Debian's OWN config
files (/etc/jabberd2/*.xml, only ports, listen addresses and the paths
of pid files, logs and the database moved into the sandbox); clients
register, build a roster, leave an offline message, a vCard and private
XML; jabberd2 stops; OUR router, sm and c2s start with the very same
config files and database; every user logs in with the password jabberd2
stored and finds all of it.

On SQLite (Debian's default) and on MySQL (a private MariaDB the test
starts, tests/lib/mysql.py, with jabberd2's own db-setup.mysql); and
from jabberd2's obsolete `fs` driver, moved to SQLite with
tools/jabberd2-fs-to-sqlite as docs/migrating-from-jabberd2.md says.
Skipped when jabberd2, our daemons or MariaDB are missing."""

import re
import subprocess
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

import pytest

from lib import jabberd, paths
from lib.xmpp import XmppError
from test_sm import iq, roster_items, roster_set

pytestmark = pytest.mark.stock

DOMAIN = "localhost.localdomain"   # what Debian's configs serve
DAEMONS = ("router", "sm", "c2s")
USERS = {"alice": "alice-old-pw-1", "bob": "bob-old-pw-2", "carol": "carol-old-pw-3"}


def debian_configs(sandbox, storage_xml=None):
    """Debian's router.xml, sm.xml, c2s.xml with only ports, addresses and
    paths changed (and, for MySQL, the <mysql> section's host, port,
    database and account, and the driver/module names). Returns (dir,
    {daemon: config path}, router port, c2s address)."""
    etc = Path("/etc/jabberd2")
    if not (etc / "sm.xml").exists():
        jabberd.missing("Debian's jabberd2 configs are not installed in /etc/jabberd2")
    d = sandbox.path("jabberd2")
    for sub in ("run", "log", "lib"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    ip = "127.0.0.1"
    router_port = sandbox.free_port(ip)
    c2s_port = sandbox.free_port(ip)
    confs = {}
    for name in DAEMONS:
        text = (etc / (name + ".xml")).read_text()
        text = text.replace("/var/run/jabberd2/", "%s/run/" % d)
        text = text.replace("/var/log/jabberd2/", "%s/log/" % d)
        text = text.replace("/var/lib/jabberd2/", "%s/lib/" % d)
        text = text.replace("<port>5347</port>", "<port>%d</port>" % router_port)
        text = text.replace("<port>5222</port>", "<port>%d</port>" % c2s_port)
        text = text.replace("<ip>0.0.0.0</ip>", "<ip>%s</ip>" % ip)
        # The legacy SSL port: not opened (a fixed port could be taken).
        text = re.sub(r"<ssl-port>\d+</ssl-port>", "", text)
        if storage_xml is not None:
            text = storage_xml(name, text)
        confs[name] = d / (name + ".xml")
        confs[name].write_text(text)
    return d, confs, router_port, (ip, c2s_port)


def start_node(sandbox, flavor, confs, router_port, c2s_address, logdir):
    """Start router, sm, c2s of `flavor` ("stock" or "ours") from confs.
    The logs of a previous run are moved aside first, so that readiness
    is read from this run's lines."""
    for name in DAEMONS:
        log = logdir / (name + ".log")
        if log.exists():
            log.rename(logdir / ("%s.before-%s.log" % (name, flavor)))
    started = {}
    for name in DAEMONS:
        binary = (jabberd.stock_binary_or_skip(name) if flavor == "stock"
                  else jabberd.our_binary_or_skip(name))
        ready_port = {"router": ("127.0.0.1", router_port), "c2s": c2s_address}.get(name)
        started[name] = sandbox.start(
            "%s-%s" % (flavor, name), [binary, "-c", confs[name]],
            logs=[logdir / (name + ".log")], ready_port=ready_port,
            ready_log=r"ready for sessions" if name == "sm" else None)
    return started


def jid(user):
    return "%s@%s" % (user, DOMAIN)


def create_data(xmpp, address):
    """Through jabberd2: users, alice's roster, a vCard, private XML, and
    an offline message for carol."""
    for user, pw in USERS.items():
        xmpp.client(jid(user), pw, address).register()
    alice = xmpp.client(jid("alice"), USERS["alice"], address)
    alice.login()
    roster_set(alice, jid("bob"), name="Bob", groups=["Friends"])
    roster_set(alice, jid("carol"), name="Carol C", groups=["Friends", "Work"])
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice Migrated"
    SubElement(vc, "{vcard-temp}NICKNAME").text = "al"
    iq(alice, None, None, itype="set", child=vc)
    q = Element("{jabber:iq:private}query")
    st = SubElement(q, "{storage:bookmarks}storage")
    SubElement(st, "{storage:bookmarks}conference", jid="room@conference.example",
               name="The room")
    iq(alice, None, None, itype="set", child=q)
    alice.send_message(jid("carol"), "kept for carol across the migration")
    # A round trip after the message: jabberd2 has stored it by then.
    iq(alice, DOMAIN, "urn:xmpp:ping")
    alice.disconnect()


def check_data(xmpp, address):
    """Through our daemons: every old password logs in; roster, vCard,
    private XML and the offline message are there."""
    clients = {}
    for user, pw in USERS.items():
        clients[user] = xmpp.client(jid(user), pw, address)
    carol = clients["carol"]
    carol.login()
    got = carol.wait_message(body="kept for carol across the migration")
    assert got["from"].bare == jid("alice")
    alice = clients["alice"]
    alice.login()
    items = roster_items(alice)
    assert set(items) == {jid("bob"), jid("carol")}
    assert items[jid("bob")]["name"] == "Bob"
    assert items[jid("bob")]["groups"] == ["Friends"]
    assert items[jid("carol")]["name"] == "Carol C"
    assert sorted(items[jid("carol")]["groups"]) == ["Friends", "Work"]
    bob = clients["bob"]
    bob.login()
    got = iq(bob, jid("alice"), None, child=Element("{vcard-temp}vCard"))
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}FN").text == "Alice Migrated"
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}NICKNAME").text == "al"
    q = Element("{jabber:iq:private}query")
    SubElement(q, "{storage:bookmarks}storage")
    got = iq(alice, None, None, child=q)
    conf = got.xml.find("{jabber:iq:private}query/{storage:bookmarks}storage/"
                        "{storage:bookmarks}conference")
    assert conf is not None
    assert (conf.get("jid"), conf.get("name")) == ("room@conference.example", "The room")
    # A wrong password is still refused.
    with pytest.raises(XmppError, match="authentication failed"):
        xmpp.client(jid("bob"), "not-bobs-password", address).login()


def migrate(sandbox, xmpp, confs, router_port, address, logdir, between=None):
    stock = start_node(sandbox, "stock", confs, router_port, address, logdir)
    create_data(xmpp, address)
    for name in reversed(DAEMONS):
        assert not stock[name].stop(), "jabberd2's %s did not stop cleanly" % name
    if between is not None:
        between()
    start_node(sandbox, "ours", confs, router_port, address, logdir)
    check_data(xmpp, address)


def test_migrate_from_jabberd2_sqlite(sandbox, xmpp):
    d, confs, router_port, address = debian_configs(sandbox)
    # What Debian's postinst does: jabberd2's schema in the configured file.
    jabberd.create_stock_schema(d / "lib" / "sqlite.db")
    migrate(sandbox, xmpp, confs, router_port, address, d / "log")


def test_migrate_from_jabberd2_mysql(sandbox, xmpp, my_server):
    db = my_server.database(stock_schema=True)

    def to_mysql(name, text):
        # The operator's switch to MySQL, as jabberd2's comments describe
        # it: driver and module, and the <mysql> connection settings.
        if name == "sm":
            text = text.replace("<driver>sqlite</driver>", "<driver>mysql</driver>")
        if name == "c2s":
            text = text.replace("<module>sqlite</module>", "<module>mysql</module>")
        return db.rewrite_mysql_section(text)

    d, confs, router_port, address = debian_configs(sandbox, to_mysql)
    migrate(sandbox, xmpp, confs, router_port, address, d / "log")
    # Our daemons took jabberd2's <mysql> sections as theirs, not as
    # unknown options.
    for name in ("sm", "c2s"):
        log = (d / "log" / (name + ".log")).read_text()
        assert not re.search(r"<mysql>.*unknown option", log), name
    # The data really is in MariaDB, in jabberd2's tables.
    assert db.query("SELECT count(*) FROM authreg")[0][0] == "3"
    assert db.query("SELECT count(*) FROM `roster-items` "
                    "WHERE `collection-owner` = '%s'" % jid("alice"))[0][0] == "2"


def test_migrate_from_jabberd2_fs(sandbox, xmpp):
    """jabberd2's sm on its `fs` driver (c2s on SQLite, as `fs` has no
    authreg); the operator copies the fs tree into the SQLite file with
    the tool and sets sm.xml's driver to sqlite; ours finds everything."""
    def to_fs(name, text):
        if name == "sm":
            text = text.replace("<driver>sqlite</driver>", "<driver>fs</driver>")
        return text

    d, confs, router_port, address = debian_configs(sandbox, to_fs)
    db = d / "lib" / "sqlite.db"
    jabberd.create_stock_schema(db)
    (d / "lib" / "fs").mkdir()

    def convert():
        tool = paths.SRCDIR / "tools" / "jabberd2-fs-to-sqlite"
        out = subprocess.run([str(tool), str(d / "lib" / "fs"), str(db)],
                             capture_output=True, text=True, timeout=paths.scaled(60))
        assert out.returncode == 0, out.stderr
        assert "roster-items: 2" in out.stdout.splitlines()
        # Run again: refused, nothing copied twice.
        again = subprocess.run([str(tool), str(d / "lib" / "fs"), str(db)],
                               capture_output=True, text=True, timeout=paths.scaled(60))
        assert again.returncode == 1 and "already holds rows" in again.stderr
        sm = confs["sm"].read_text()
        confs["sm"].write_text(sm.replace("<driver>fs</driver>", "<driver>sqlite</driver>"))

    migrate(sandbox, xmpp, confs, router_port, address, d / "log", between=convert)
