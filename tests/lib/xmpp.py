# SPDX-License-Identifier: GPL-2.0-or-later
"""XMPP clients for integration tests, built on slixmpp (Debian's
python3-slixmpp, so run pytest with /usr/bin/python3).

slixmpp is asyncio-based; tests here are plain synchronous functions. So
each test gets one ClientLoop (the `xmpp` fixture) owning a private event
loop, and every client call runs that loop until its own work is done or
its deadline passes. No thread, no loop left running between calls, every
wait bounded; close() disconnects every client and closes the loop.

    alice = xmpp.client("alice@localhost", "pw", node.c2s_address)
    alice.register()           # XEP-0077 in-band registration, then logout
    alice.login()              # SASL, bind, session, initial presence
    alice.send_message(bob.jid, "hi")
    msg = bob.wait_message(body="hi")
"""

import asyncio
import logging
import ssl

from . import paths

try:
    import slixmpp
    from slixmpp.exceptions import IqError, IqTimeout
except ImportError as e:  # pragma: no cover - reported by conftest.py
    slixmpp = None
    IMPORT_ERROR = e

DEFAULT_TIMEOUT = 15.0

log = logging.getLogger("jc.xmpp")


class XmppError(Exception):
    """A connection, registration, login or wait failed or timed out."""


class ClientLoop:
    """The event loop all of one test's clients share."""

    def __init__(self):
        if slixmpp is None:
            raise XmppError("slixmpp not importable (%s); run the tests with "
                            "/usr/bin/python3 -m pytest" % IMPORT_ERROR)
        self.loop = asyncio.new_event_loop()
        # slixmpp creates futures in its constructors; they must belong
        # to this loop.
        asyncio.set_event_loop(self.loop)
        self.clients = []

    def run(self, coro, timeout, what):
        """Run `coro` on the loop for at most `timeout` (scaled) seconds."""
        limit = paths.scaled(timeout)
        try:
            return self.loop.run_until_complete(asyncio.wait_for(coro, limit))
        except asyncio.TimeoutError:
            raise XmppError("timed out after %.1f s: %s" % (limit, what)) from None

    def pause(self, seconds):
        """Let the loop run for `seconds` (scaled): clients send what they
        queued and receive only while it runs."""
        s = paths.scaled(seconds)
        self.loop.run_until_complete(asyncio.sleep(s))

    def client(self, jid, password, address, tls="none", cafile=None):
        """A client for `jid` that connects to address=(ip, port).
        tls: "none" (plain TCP; PLAIN allowed in clear on loopback),
        "starttls" (required; the server certificate is verified against
        `cafile` and the JID's domain)."""
        c = Client(self, jid, password, address, tls, cafile)
        self.clients.append(c)
        return c

    def close(self):
        """Disconnect every client and close the loop; bounded in time."""
        for c in self.clients:
            try:
                c.disconnect()
            except XmppError as e:
                log.warning("%s: %s", c.jid, e)
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            self.loop.run_until_complete(
                asyncio.wait(pending, timeout=paths.scaled(5)))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        asyncio.set_event_loop(None)


class Client:
    """One account. register() and login() each open their own stream."""

    def __init__(self, cloop, jid, password, address, tls, cafile):
        if tls not in ("none", "starttls"):
            raise ValueError("tls must be 'none' or 'starttls'")
        self.cloop = cloop
        self.jid = slixmpp.JID(jid)
        self.password = password
        self.address = tuple(address)
        self.tls = tls
        self.cafile = cafile
        self.xmpp = None            # the logged-in stream, if any
        self.messages = None        # asyncio.Queue of received messages
        self.errors = []            # stream errors seen

    # Streams.
    def _stream(self):
        x = slixmpp.ClientXMPP(str(self.jid), self.password)
        x.register_plugin("xep_0030")
        x.register_plugin("xep_0199")
        x.use_aiodns = False
        # Loopback test servers: PLAIN/DIGEST over an unencrypted stream
        # are allowed here, never in production.
        x["feature_mechanisms"].unencrypted_plain = True
        x["feature_mechanisms"].unencrypted_digest = True
        if self.tls == "starttls":
            ctx = ssl.create_default_context(cafile=self.cafile)
            ctx.check_hostname = True
            x.ssl_context = ctx
        x.add_event_handler(
            "stream_error",
            lambda e: self.errors.append(e["condition"] if e else "?"))
        return x

    def _connect(self, x):
        if self.tls == "starttls":
            x.connect(self.address, force_starttls=True, disable_starttls=False)
        else:
            x.connect(self.address, force_starttls=False, disable_starttls=True)

    def _outcome(self, x, goal="session_start",
                 auth_failed="authentication failed"):
        """A future whose result is None once the stream reaches `goal`
        (an event name, or None if the caller resolves it), or a reason
        string if it fails first: connection refused, authentication
        failed, disconnected."""
        fut = self.cloop.loop.create_future()

        def done(result):
            if not fut.done():
                fut.set_result(result)
        if goal is not None:
            x.add_event_handler(goal, lambda _e: done(None))
        x.add_event_handler("failed_all_auth",
                            lambda _e: done(auth_failed))
        x.add_event_handler("connection_failed",
                            lambda e: done("connection failed: %s" % (e,)))
        x.add_event_handler("disconnected",
                            lambda e: done("disconnected early: %s" % (e,)))
        return fut, done

    async def _run_stream(self, x, fut, what):
        """Connect and wait for the outcome future; raise on failure."""
        self._connect(x)
        try:
            err = await fut
        except asyncio.CancelledError:
            x.cancel_connection_attempt()
            raise
        if err is not None:
            # Stop slixmpp's automatic reconnection attempts.
            x.cancel_connection_attempt()
            if self.errors:
                err += " (stream errors: %s)" % ", ".join(map(str, self.errors))
            raise XmppError("%s: %s: %s" % (self.jid, what, err))

    # In-band registration (XEP-0077).
    def register(self, timeout=DEFAULT_TIMEOUT):
        """Create the account by in-band registration on a stream of its
        own, then close that stream without authenticating. Raises
        XmppError if the server offers no registration or refuses it
        (the message then says "registration refused: <condition>").

        Registering and logging in on one stream is avoided on purpose:
        jabberd2 2.7's c2s then drops the sm's reply to the session start
        (it came from the sm's id, not the domain that answered the user
        creation) and the bind never completes."""
        x = self._stream()
        x.register_plugin("xep_0004")
        x.register_plugin("xep_0066")
        x.register_plugin("xep_0077")
        # slixmpp 1.8 queues every iq but bind/session until the session
        # has started, which would hold the registration iqs back forever;
        # this stream exists only to register, so let everything through.
        x._always_send_everything = True
        # Without the feature, slixmpp goes on to SASL, which fails for an
        # account that does not exist yet.
        fut, done = self._outcome(
            x, goal=None, auth_failed="server offered no in-band registration")
        limit = paths.scaled(timeout)

        async def feature(_features):
            try:
                form = await x["xep_0077"].get_registration(timeout=limit)
                for field in ("username", "password"):
                    if field not in form["register"]["fields"]:
                        done("registration form lacks %r: %s" % (field, form))
                        return True
                iq = x.Iq()
                iq["type"] = "set"
                iq["register"]["username"] = self.jid.user
                iq["register"]["password"] = self.password
                await iq.send(timeout=limit)
                done(None)
            except IqError as e:
                done("registration refused: %s" % e.iq["error"]["condition"])
            except IqTimeout:
                done("no reply to a registration iq")
            # Stop feature processing here: no SASL on this stream.
            return True
        order = x["xep_0077"].order
        x.unregister_feature("register", order)
        x.register_feature("register", feature, restart=True, order=order)

        async def go():
            try:
                await self._run_stream(x, fut, "register")
            finally:
                await self._close(x)
        self.cloop.run(go(), timeout, "%s: register" % self.jid)

    # Sessions.
    def login(self, timeout=DEFAULT_TIMEOUT, presence=True):
        """Connect, authenticate, bind and start a session. With presence,
        send initial presence and then fetch the roster: the server handles
        one session's stanzas in order, so once the roster arrives the
        presence has been processed and the session is available
        (messages to the bare JID reach it)."""
        x = self._stream()
        self.messages = asyncio.Queue()
        x.add_event_handler("message", self.messages.put_nowait)
        fut, _ = self._outcome(x)
        limit = paths.scaled(timeout)

        async def go():
            await self._run_stream(x, fut, "login")
            if presence:
                x.send_presence()
                await x.get_roster(timeout=limit)

        self.xmpp = x
        self.cloop.run(go(), timeout, "%s: login" % self.jid)

    @property
    def full_jid(self):
        """The bound full JID (after login)."""
        return self.xmpp.boundjid

    def send_message(self, to, body, mtype="chat"):
        if self.xmpp is None:
            raise XmppError("%s: send_message before login" % self.jid)
        self.xmpp.send_message(mto=str(to), mbody=body, mtype=mtype)

    def wait_message(self, body=None, sender=None, timeout=DEFAULT_TIMEOUT):
        """Wait for a message (with the given body / from the given bare
        JID, if set); returns the slixmpp Message. Error messages are not
        skipped: one arriving instead of the awaited message fails."""
        if self.messages is None:
            raise XmppError("%s: wait_message before login" % self.jid)

        async def go():
            while True:
                m = await self.messages.get()
                if m["type"] == "error":
                    raise XmppError("%s: got an error message: %s"
                                    % (self.jid, m))
                if body is not None and m["body"] != body:
                    continue
                if sender is not None and m["from"].bare != str(sender):
                    continue
                return m
        return self.cloop.run(go(), timeout, "%s: waiting for message %r"
                              % (self.jid, body))

    def collect(self, n, quiet=1.5, timeout=DEFAULT_TIMEOUT):
        """The next `n` messages (slixmpp Messages, error messages
        included), then whatever else arrives within `quiet` seconds (a
        duplicate, say), in arrival order."""
        if self.messages is None:
            raise XmppError("%s: collect before login" % self.jid)

        async def go():
            out = []
            while len(out) < n:
                out.append(await self.messages.get())
            return out
        got = self.cloop.run(go(), timeout, "%s: waiting for %d messages" % (self.jid, n))
        self.cloop.pause(quiet)
        while not self.messages.empty():
            got.append(self.messages.get_nowait())
        return got

    async def _close(self, x, wait=2.0):
        if x.transport is None:
            x.cancel_connection_attempt()
            return
        try:
            await asyncio.wait_for(x.disconnect(wait=wait), paths.scaled(wait + 3))
        except asyncio.TimeoutError:
            x.abort()

    def disconnect(self, timeout=DEFAULT_TIMEOUT):
        """Close the logged-in stream (if any), bounded in time."""
        if self.xmpp is None:
            return
        x, self.xmpp = self.xmpp, None
        self.cloop.run(self._close(x), timeout, "%s: disconnect" % self.jid)
