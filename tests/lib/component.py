# SPDX-License-Identifier: GPL-2.0-or-later
"""Our component daemons (muc, pubsub) on a jabberd.Node's router, and the
slixmpp users that talk to them: what test_muc.py, test_pubsub.py and the
tests built on them share.

  start(sandbox, node, "muc", service, storage, dbfile, ready_log, ...)
      renders tests/lib/templates/jabberd2/<daemon>.xml.in for `node`
      (router address and credentials, log, storage) and starts the daemon;
  user(xmpp, node, name, plugins)  a registered, logged-in client;
  run(client, coro, what)          a slixmpp request, bounded in time.
"""

from . import jabberd


def storage_xml(storage, dbfile):
    """The <storage> driver of a component: the sqlite file `dbfile`, or
    `storage` (pgsql.Database, mysql) as the sm's."""
    if storage is None:
        return ("<driver>sqlite</driver><sqlite><dbname>%s</dbname>"
                "<busy-timeout>2000</busy-timeout></sqlite>" % dbfile)
    return storage.sm_storage_xml()


def start(sandbox, node, daemon, service, storage, dbfile, ready_log, n=1, edit=None,
          **template):
    """Start our `daemon` (instance `n`) on `node`'s router serving
    `service`, ready when it logs `ready_log`; `template` fills the rest of
    its config template; edit(conf), if given, changes the rendered config
    before the start."""
    log = node.log("%s-%d" % (daemon, n))
    conf = node.dir / ("%s-%d.xml" % (daemon, n))
    sandbox.render("jabberd2/%s.xml.in" % daemon, conf, SERVICE=service, IP=node.ip,
                   ROUTER_PORT=node.router_port, ROUTER_USER=node.router_user,
                   ROUTER_PASS=node.router_pass, LOG=log,
                   STORAGE_DRIVER=storage_xml(storage, dbfile), **template)
    if edit is not None:
        edit(conf)
    binary = jabberd.our_binary_or_skip(daemon)
    return sandbox.start("node%d-%s-%d" % (node.number, daemon, n), [binary, "-c", conf],
                         logs=[log], ready_log=ready_log)


def user(xmpp, node, name, plugins):
    """name@localhost registered and logged in on `node`, with the slixmpp
    `plugins` registered."""
    c = xmpp.client("%s@localhost" % name, name + "-pw", node.c2s_address)
    c.register()
    c.login()
    for p in plugins:
        c.xmpp.register_plugin(p)
    return c


def run(client, coro, what, timeout=15.0):
    return client.cloop.run(coro, timeout, what)
