"""Shared pytest fixtures: a local misbehaving HTTP server and the fixture files.

See ``tests/httpserver.py`` for what the server can be told to do.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
