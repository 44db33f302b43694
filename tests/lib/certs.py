# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-signed certificates made at test time with the openssl command, for
daemons that offer TLS. The PEM file holds the certificate followed by its
private key, the layout jabberd2's <pemfile> expects; the certificate alone
is written beside it for clients to trust.
"""

import subprocess

from . import paths


class Cert:
    def __init__(self, pemfile, certfile, keyfile):
        self.pemfile = pemfile    # certificate + key (for the daemon)
        self.certfile = certfile  # certificate only (a client's CA file)
        self.keyfile = keyfile


def self_signed(directory, name="localhost", days=2):
    """Make a P-256 certificate for DNS name `name` in `directory`."""
    openssl = paths.openssl()
    if openssl is None:
        raise RuntimeError("openssl command not found (Debian package openssl)")
    key = directory / (name + ".key")
    crt = directory / (name + ".crt")
    pem = directory / (name + ".pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(crt), "-days", str(days),
         "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=paths.scaled(30))
    pem.write_bytes(crt.read_bytes() + key.read_bytes())
    pem.chmod(0o600)
    return Cert(pem, crt, key)


def _openssl(*args):
    openssl = paths.openssl()
    if openssl is None:
        raise RuntimeError("openssl command not found (Debian package openssl)")
    subprocess.run([openssl] + [str(a) for a in args], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, timeout=paths.scaled(30))


def make_ca(directory, name="Test CA", days=2):
    """A P-256 certificate authority in `directory` that `issue` signs
    with; its certfile is what a daemon's <cachain> names."""
    key = directory / (name.replace(" ", "_") + ".key")
    crt = directory / (name.replace(" ", "_") + ".crt")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", crt, "-days", days, "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return Cert(None, crt, key)


def issue(directory, ca, name, xmpp_addrs=(), dns_names=(), days=2):
    """A certificate signed by `ca` whose subjectAltName carries each JID of
    `xmpp_addrs` as id-on-xmppAddr (RFC 6120 section 13.7.1.4) and each of
    `dns_names` as dNSName: a client certificate for SASL EXTERNAL."""
    base = directory / name
    key, csr = base.with_suffix(".key"), base.with_suffix(".csr")
    crt, pem, ext = (base.with_suffix(".crt"), base.with_suffix(".pem"),
                     base.with_suffix(".ext"))
    sans = ["otherName:1.3.6.1.5.5.7.8.5;UTF8:" + a for a in xmpp_addrs]
    sans += ["DNS:" + d for d in dns_names]
    ext.write_text("basicConstraints=CA:FALSE\n"
                   "extendedKeyUsage=clientAuth,serverAuth\n"
                   + ("subjectAltName=" + ",".join(sans) + "\n" if sans else ""))
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", csr, "-subj", "/CN=" + name)
    _openssl("x509", "-req", "-in", csr, "-CA", ca.certfile, "-CAkey",
             ca.keyfile, "-CAcreateserial", "-out", crt, "-days", days,
             "-extfile", ext)
    pem.write_bytes(crt.read_bytes() + key.read_bytes())
    pem.chmod(0o600)
    return Cert(pem, crt, key)
