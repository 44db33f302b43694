# SPDX-License-Identifier: GPL-2.0-or-later
"""The integration test harness. Tests use it through the fixtures in
tests/conftest.py (sandbox, xmpp); see docs/testing.md.

  paths    where the source, build tree and daemon binaries are
  sandbox  per-test directory, loopback addresses, ports, templates, daemons
  daemon   one daemon process: start, wait for port or log line, stop
  logscan  sanitizer reports and alert/critical lines in daemon output
  certs    self-signed certificates made at test time
  jabberd  a router+sm+c2s node (Debian's jabberd2 or ours) in a sandbox
  component  our muc or pubsub on a node's router, and their users
  cluster_users  the recording clients of the cluster tests and their checks
  xmpp     slixmpp clients driven synchronously, every wait bounded
  fake_daemon  a misbehaving stand-in daemon for the harness's own tests
"""
