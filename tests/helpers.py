"""Helpers shared by tests across packages: the repository root, the environment of subprocess tests
(the repo importable), and a ``sitecustomize`` that logs and blocks network connections."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def repo_env() -> dict[str, str]:
    """The environment for subprocess tests: this interpreter's, with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


NETWORK_GUARD = """
import os, socket

_LOG = os.environ["FINSTA_NETLOG"]

def _record(what):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(what + "\\n")
    raise OSError("network access attempted in an offline test: " + what)

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record("connect %r" % (address,))
    return _connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record("connect_ex %r" % (address,))
    return _connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    _record("getaddrinfo %r" % (host,))

def create_connection(address, *args, **kwargs):
    _record("create_connection %r" % (address,))

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
socket.create_connection = create_connection
"""
