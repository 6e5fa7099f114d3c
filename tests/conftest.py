"""Shared pytest fixtures: a local misbehaving HTTP server and the fixture files.

See ``tests/httpserver.py`` for what the server can be told to do.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import services
from httpserver import LocalServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A fresh :class:`httpserver.LocalServer` on 127.0.0.1, stopped after the test."""
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def fixtures_dir() -> Path:
    """``tests/fixtures`` (real UN PDFs under ``pdfs/``)."""
    return FIXTURES


# -- storage backends: every index test runs on SQLite and on PostgreSQL ---------------------------------
# A test (or module) that uses the ``backend`` fixture runs once per backend; a test marked
# ``sqlite_only`` (it opens index.sqlite itself) runs on SQLite alone. With the PostgreSQL backend,
# LINKWATCH_INDEX points every linkwatch call of the test — subprocesses too — at a fresh database.
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test reads the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = any(m.args and m.args[0] == "backend" for m in metafunc.definition.iter_markers("parametrize"))
    if "backend" in metafunc.fixturenames and not chosen:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", BACKENDS[:1] if only else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.Postgres]:
    """One PostgreSQL cluster for the session (a fresh database per test: :func:`backend`)."""
    with services.postgres() as pg:
        yield pg


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """None for SQLite; for PostgreSQL the URL of a fresh database, also set as LINKWATCH_INDEX."""
    if request.param == "sqlite":
        monkeypatch.delenv("LINKWATCH_INDEX", raising=False)
        return None
    url = request.getfixturevalue("postgres_server").database()
    monkeypatch.setenv("LINKWATCH_INDEX", url)
    return url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[services.SeaweedS3]:
    """One SeaweedFS (weed mini) for the session, on loopback, with credentials of its own."""
    with services.seaweedfs() as s3:
        yield s3


@pytest.fixture
def s3_store(s3_server: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://…`` under a fresh prefix; the standard AWS variables point every client (subprocesses
    too) at the test server, and nothing at any other address (no instance-metadata lookups)."""
    import uuid

    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{services.BUCKET}/run-{uuid.uuid4().hex[:10]}"
