"""No test reaches the internet: every Python process of the test suite refuses connections to
hosts other than this machine's loopback addresses.

conftest.py puts this folder on ``PYTHONPATH``, so the scripts, worker processes and tools the
tests start load this module at start-up (Python imports ``sitecustomize`` by itself), and it
loads it into the pytest process too. A refused attempt is raised as ``OSError`` (what an
offline machine gives) and written to the file named by ``EVOLEARN_TEST_NETWORK_LOG``, which
conftest.py checks after every test: a test that tried to reach the internet fails even when
the code under test handled the error.
"""

import ipaddress
import os
import socket

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    if host in ("", "localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(host) -> None:
    log = os.environ.get("EVOLEARN_TEST_NETWORK_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"process {os.getpid()} tried to reach {host!r}\n")
    raise OSError(f"the tests reach no host outside this machine (refused: {host!r})")


def _getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_local(host):
        _refuse(host)
    return _real_getaddrinfo(host, *args, **kwargs)


def _checked(address) -> None:
    if isinstance(address, tuple) and not _is_local(address[0]):
        _refuse(address[0])


def _connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _checked(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _checked(address)
    return _real_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
