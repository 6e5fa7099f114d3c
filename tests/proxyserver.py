"""A real forward proxy for tests: Debian's ``tinyproxy``, on 127.0.0.1, in its own temp folder.

``.ci/run`` installs tinyproxy and sets ``LINKWATCH_REQUIRE_PROXY=1``, so the proxy tests fail
instead of skipping in CI. :class:`TinyProxy` writes a configuration that listens on 127.0.0.1
only, allows only 127.0.0.1 as a client, names itself in the ``Via`` header, and logs every
request (``GET http://…`` for plain HTTP, ``CONNECT host:port`` for an HTTPS tunnel) so a test
can tell what went through it. It runs in the foreground and is stopped by its PID.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

VIA_NAME = "linkwatch-test-proxy"


def find_tinyproxy() -> str | None:
    return shutil.which("tinyproxy") or next((p for p in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy")
                                              if Path(p).is_file()), None)


def require_tinyproxy() -> str:
    found = find_tinyproxy()
    if found:
        return found
    if os.environ.get("LINKWATCH_REQUIRE_PROXY") == "1":
        pytest.fail("tinyproxy is not installed and LINKWATCH_REQUIRE_PROXY=1 (.ci/run installs it)")
    pytest.skip("tinyproxy is not installed (apt install tinyproxy)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TinyProxy:
    """``with TinyProxy(folder) as proxy: proxy.url, proxy.log()``."""

    def __init__(self, folder: Path) -> None:
        self.binary = require_tinyproxy()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.folder / "tinyproxy.log"
        self.conf = self.folder / "tinyproxy.conf"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> TinyProxy:
        # No ConnectPort line: CONNECT is allowed to any port (the test servers' ports are random).
        self.conf.write_text("\n".join([
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            f'LogFile "{self.log_path}"',
            "LogLevel Info",
            "MaxClients 50",
            "Allow 127.0.0.1",
            f'ViaProxyName "{VIA_NAME}"',
        ]) + "\n", encoding="utf-8")
        self.process = subprocess.Popen([self.binary, "-d", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyproxy exited at start ({self.process.returncode}): {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("tinyproxy did not start listening within 10 s")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def requests(self) -> list[str]:
        """The request lines tinyproxy logged: ``GET http://127.0.0.1:1234/a.pdf``, ``CONNECT 127.0.0.1:1234``."""
        import re

        return re.findall(r'Request \(file descriptor \d+\): (\S+ \S+)', self.log())

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
