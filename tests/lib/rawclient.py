# SPDX-License-Identifier: GPL-2.0-or-later
"""A small hand-driven XMPP client for what slixmpp does not do, or does
not do on purpose: SCRAM-*-PLUS with tls-exporter (TLS 1.3) or tls-unique
(TLS 1.2) channel binding, wrong channel-binding data, SASL EXTERNAL with
a client certificate, ANONYMOUS, DIGEST-MD5, replayed SCRAM messages.

TLS is pyOpenSSL (Debian's python3-openssl): the standard ssl module
cannot export keying material, which tls-exporter (RFC 9266) needs. The
SCRAM (RFC 5802) and DIGEST-MD5 (RFC 2831) clients are written here on
hashlib and hmac.
"""

import base64
import hashlib
import hmac
import re
import secrets
import select
import socket
import time

from . import paths

SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


def _b64(data):
    return base64.b64encode(data).decode()


class RawClient:
    """One client connection: plain TCP first, TLS after starttls() or at
    once with direct_tls=True. Reads accumulate in self.buf; read_until
    waits for a marker in what arrived since the last mark()."""

    def __init__(self, address, domain="localhost", timeout=10):
        self.domain = domain
        self.sock = socket.create_connection(address, timeout=paths.scaled(timeout))
        self.sock.settimeout(None)
        self.tls = None
        self.buf = b""
        self.start = 0

    # ---- I/O ----

    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        if self.tls is not None:
            self.tls.sendall(data)
        else:
            self.sock.sendall(data)

    def _recv(self, left):
        from OpenSSL import SSL

        if self.tls is not None and self.tls.pending() > 0:
            return self.tls.recv(65536)
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return None
        try:
            if self.tls is not None:
                return self.tls.recv(65536)
            return self.sock.recv(65536)
        except SSL.WantReadError:
            return None
        except (SSL.ZeroReturnError, ConnectionResetError):
            return b""
        except SSL.SysCallError:
            return b""

    def mark(self):
        self.start = len(self.buf)

    def read_until(self, *needles, timeout=10):
        """The text since mark() once it holds one of `needles` (or the
        peer closed); AssertionError on timeout."""
        end = time.monotonic() + paths.scaled(timeout)
        while not any(n.encode() in self.buf[self.start:] for n in needles):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got %r"
                                     % (needles, self.buf[self.start:]))
            data = self._recv(left)
            if data is None:
                continue
            if not data:
                break
            self.buf += data
        return self.buf[self.start:].decode(errors="replace")

    def closed(self, timeout=10):
        """True once the server has closed the connection."""
        end = time.monotonic() + paths.scaled(timeout)
        while time.monotonic() < end:
            data = self._recv(max(0.05, end - time.monotonic()))
            if data is None:
                continue
            if not data:
                return True
            self.buf += data
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- stream ----

    def open(self):
        """Send a stream header; the features (or the stream's end)."""
        self.mark()
        self.send("<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "version='1.0'>" % self.domain)
        return self.read_until("</stream:features>", "</stream:stream>")

    def wrap_tls(self, tls_version=None, cert=None, cafile=None):
        """TLS on the socket as it is. tls_version: "1.2" or "1.3" to pin
        the version; cert: a certs.Cert to present."""
        from OpenSSL import SSL

        ctx = SSL.Context(SSL.TLS_METHOD)
        if tls_version == "1.2":
            ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        elif tls_version == "1.3":
            ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        if cert is not None:
            ctx.use_certificate_file(str(cert.certfile))
            ctx.use_privatekey_file(str(cert.keyfile))
        if cafile is not None:
            ctx.load_verify_locations(str(cafile))
            ctx.set_verify(SSL.VERIFY_PEER, lambda *a: a[-1])
        conn = SSL.Connection(ctx, self.sock)
        conn.set_tlsext_host_name(self.domain.encode())
        conn.set_connect_state()
        end = time.monotonic() + paths.scaled(10)
        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                if time.monotonic() > end:
                    raise AssertionError("TLS handshake timed out")
                select.select([self.sock], [], [], 0.1)
        self.tls = conn
        self.buf = b""
        self.start = 0

    def starttls(self, **tls_args):
        """STARTTLS on an open stream, then the new stream's features."""
        self.mark()
        self.send("<starttls xmlns='%s'/>" % TLS_NS)
        assert "<proceed" in self.read_until("<proceed", "<failure", "</stream:stream>")
        self.wrap_tls(**tls_args)
        return self.open()

    def tls_protocol(self):
        return self.tls.get_protocol_version_name()

    def channel_binding(self, cb_type):
        """The channel-binding data of this TLS connection."""
        if cb_type == "tls-exporter":
            return self.tls.export_keying_material(b"EXPORTER-Channel-Binding", 32)
        if cb_type == "tls-unique":
            # The first Finished message of the handshake: the client's.
            return self.tls.get_finished()
        raise ValueError(cb_type)

    # ---- SASL ----

    def sasl_outcome(self, timeout=10):
        """("success", payload) or ("failure", condition) or
        ("stream-error", condition)."""
        text = self.read_until("</success>", "<success", "</failure>",
                               "</stream:stream>", timeout=timeout)
        m = re.search(r"<success[^>]*?(/>|>(.*?)</success>)", text, re.S)
        if m:
            return "success", m.group(2) or ""
        m = re.search(r"<failure[^>]*>\s*<([a-z-]+)", text)
        if m:
            return "failure", m.group(1)
        m = re.search(r"<stream:error>\s*<([a-z-]+)", text)
        return "stream-error", m.group(1) if m else text

    def auth(self, mechanism, initial=None):
        self.mark()
        body = "" if initial is None else (_b64(initial) or "=")
        self.send("<auth xmlns='%s' mechanism='%s'>%s</auth>"
                  % (SASL_NS, mechanism, body))

    def scram(self, user, password, mechanism="SCRAM-SHA-256", cb_type=None,
              cb_data=None, authzid="", y_flag=False):
        """Run SCRAM; returns sasl_outcome(). With cb_type the -PLUS form
        binds to that channel; cb_data replaces the real binding data (a
        client on the wrong channel). y_flag: the non-PLUS form saying
        "y" (the client could bind but thinks the server cannot)."""
        hname = "sha256" if "SHA-256" in mechanism else "sha1"
        if cb_type is not None:
            gs2 = "p=%s," % cb_type
            if cb_data is None:
                cb_data = self.channel_binding(cb_type)
        else:
            gs2 = "y," if y_flag else "n,"
            cb_data = b""
        gs2 += ("a=%s" % authzid if authzid else "") + ","
        cnonce = secrets.token_urlsafe(18)
        first_bare = "n=%s,r=%s" % (user, cnonce)
        self.auth(mechanism, (gs2 + first_bare).encode())
        text = self.read_until("</challenge>", "</failure>", "</stream:stream>")
        m = re.search(r"<challenge[^>]*>([^<]*)</challenge>", text)
        if not m:
            return self.sasl_outcome()
        server_first = base64.b64decode(m.group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(cnonce)
        salted = hashlib.pbkdf2_hmac(hname, password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        final_bare = "c=%s,r=%s" % (_b64(gs2.encode() + cb_data), attrs["r"])
        auth_msg = ",".join((first_bare, server_first, final_bare)).encode()
        client_key = hmac.new(salted, b"Client Key", hname).digest()
        stored = hashlib.new(hname, client_key).digest()
        sig = hmac.new(stored, auth_msg, hname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        self.mark()
        # Kept for replay tests: a later stream sending this again must fail.
        self.last_final = final_bare + ",p=" + _b64(proof)
        self.send("<response xmlns='%s'>%s</response>"
                  % (SASL_NS, _b64(self.last_final.encode())))
        outcome = self.sasl_outcome()
        if outcome[0] == "success":
            server_key = hmac.new(salted, b"Server Key", hname).digest()
            want = "v=" + _b64(hmac.new(server_key, auth_msg, hname).digest())
            got = base64.b64decode(outcome[1]).decode() if outcome[1] else ""
            assert got == want, "server signature did not verify"
        return outcome

    def digest_md5(self, user, password, service="xmpp"):
        """DIGEST-MD5 (RFC 2831, qop=auth); returns sasl_outcome(). The
        server's rspauth must verify."""
        self.auth("DIGEST-MD5")
        text = self.read_until("</challenge>", "</failure>", "</stream:stream>")
        m = re.search(r"<challenge[^>]*>([^<]*)</challenge>", text)
        if not m:
            return self.sasl_outcome()
        chal = dict((k, v.strip('"')) for k, v in re.findall(
            r'([a-z-]+)=("[^"]*"|[^,]*)', base64.b64decode(m.group(1)).decode()))
        realm = chal.get("realm", self.domain)
        cnonce = secrets.token_hex(16)
        uri = "%s/%s" % (service, self.domain)

        def md5(b):
            return hashlib.md5(b).digest()

        def hexmd5(b):
            return hashlib.md5(b).hexdigest()

        def resp(prefix):
            a1 = (md5(("%s:%s:%s" % (user, realm, password)).encode())
                  + (":%s:%s" % (chal["nonce"], cnonce)).encode())
            a2 = ("%s:%s" % (prefix, uri)).encode()
            return hexmd5(("%s:%s:00000001:%s:auth:%s" % (
                hexmd5(a1), chal["nonce"], cnonce, hexmd5(a2))).encode())
        body = ('username="%s",realm="%s",nonce="%s",cnonce="%s",nc=00000001,'
                'qop=auth,digest-uri="%s",response=%s,charset=utf-8'
                % (user, realm, chal["nonce"], cnonce, uri, resp("AUTHENTICATE")))
        self.mark()
        self.send("<response xmlns='%s'>%s</response>" % (SASL_NS, _b64(body.encode())))
        text = self.read_until("</challenge>", "<success", "</failure>",
                               "</stream:stream>")
        want = "rspauth=" + resp("")
        m = re.search(r"<challenge[^>]*>([^<]*)</challenge>", text)
        if m:
            assert base64.b64decode(m.group(1)).decode() == want
            self.mark()
            self.send("<response xmlns='%s'/>" % SASL_NS)
            return self.sasl_outcome()
        outcome = self.sasl_outcome()
        if outcome[0] == "success" and outcome[1]:
            assert base64.b64decode(outcome[1]).decode() == want
        return outcome

    def scram_replay(self, user, final, mechanism="SCRAM-SHA-256"):
        """Start SCRAM afresh, then answer the new challenge with `final`,
        a client-final message recorded on another stream (its nonce and
        proof belong to that exchange); returns sasl_outcome()."""
        self.auth(mechanism, ("n,,n=%s,r=%s" % (user, secrets.token_urlsafe(18))).encode())
        text = self.read_until("</challenge>", "</failure>", "</stream:stream>")
        if "</challenge>" not in text:
            return self.sasl_outcome()
        self.mark()
        self.send("<response xmlns='%s'>%s</response>" % (SASL_NS, _b64(final.encode())))
        return self.sasl_outcome()

    # ---- after authentication ----

    def bind(self, resource=None):
        """Open the new stream, bind; the bound JID or the error text."""
        feats = self.open()
        assert "urn:ietf:params:xml:ns:xmpp-bind" in feats, feats
        self.mark()
        res = "<resource>%s</resource>" % resource if resource else ""
        self.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:"
                  "ns:xmpp-bind'>%s</bind></iq>" % res)
        text = self.read_until("</iq>", "</stream:stream>")
        m = re.search(r"<jid>([^<]+)</jid>", text)
        return m.group(1) if m else text
