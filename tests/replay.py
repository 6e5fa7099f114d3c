"""pywb and py-wacz for the replay tests: real tools, run as subprocesses bound to 127.0.0.1.

Both pull in many dependencies of their own (gevent, frictionless…), so they live in a virtual
environment of their own, not linkwatch's: ``.ci/run`` makes ``.venv-replay`` and sets
``LINKWATCH_REPLAY_BIN`` to its ``bin`` folder. Tools are looked for there, then in
``.venv-replay/bin`` beside the tests' checkout, then on PATH. Without them the tests skip, unless
``LINKWATCH_REQUIRE_PYWB=1`` / ``LINKWATCH_REQUIRE_WACZ=1`` (set by ``.ci/run``): then they fail.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str, requirement: str) -> str:
    """The path of a replay tool (``wayback``, ``wacz``…), or skip (fail when ``requirement`` is set)."""
    folders = [os.environ.get("LINKWATCH_REPLAY_BIN", ""), str(ROOT / ".venv-replay" / "bin")]
    for folder in folders:
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if found:
        return found
    message = (f"{name} not found (pip install pywb wacz into .venv-replay, or set LINKWATCH_REPLAY_BIN "
               "to the bin folder that has them)")
    if os.environ.get(requirement) == "1":
        pytest.fail(f"{requirement}=1 but {message}")
    pytest.skip(message)


class Pywb:
    """A pywb collection ``coll`` in ``root``, served by ``wayback`` on 127.0.0.1 (stopped by PID)."""

    def __init__(self, root: Path) -> None:
        self.wayback = tool("wayback", "LINKWATCH_REQUIRE_PYWB")
        self.manager = tool("wb-manager", "LINKWATCH_REQUIRE_PYWB")
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._run(self.manager, "init", "coll")

    def add(self, *warcs: Path) -> None:
        """Add WARC files; pywb indexes them itself (``wb-manager add``)."""
        self._run(self.manager, "add", "coll", *map(str, warcs))

    def add_indexed(self, warc: Path, cdxj: Path) -> None:
        """Add a WARC with an index made elsewhere (a WACZ's): pywb then looks captures up by it."""
        shutil.copy(warc, self.root / "collections" / "coll" / "archive" / warc.name)
        shutil.copy(cdxj, self.root / "collections" / "coll" / "indexes" / cdxj.name)

    def __enter__(self) -> Pywb:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen([self.wayback, "--bind", "127.0.0.1", "-p", str(self.port)], cwd=self.root,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"wayback exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("wayback did not start listening within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, url: str, when: str = "2100") -> tuple[int, dict[str, str], bytes]:
        """Replay ``url`` as captured closest to ``when`` (default: the latest capture), unrewritten (``id_``)."""
        target = f"http://127.0.0.1:{self.port}/coll/{when}id_/{url}"
        try:
            with urllib.request.urlopen(target, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def _run(self, *argv: str) -> None:
        subprocess.run(argv, cwd=self.root, check=True, capture_output=True, timeout=120, env=_env())


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """``wacz validate -f path`` (py-wacz)."""
    return subprocess.run([tool("wacz", "LINKWATCH_REQUIRE_WACZ"), "validate", "-f", str(path)],
                          capture_output=True, text=True, timeout=120, env=_env())


def _env() -> dict[str, str]:
    # The tools' own interpreter must not see the test run's PYTHONPATH (linkwatch's checkout).
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
