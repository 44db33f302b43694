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
