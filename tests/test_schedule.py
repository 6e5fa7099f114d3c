"""Fetch order: host by host in turn, so a manifest listed host by host keeps every host busy.

Checked at the servers: several real HTTP servers on distinct loopback addresses (distinct hosts to
the per-host limiter), a manifest listing all documents of one host before the next, and the time
each server first heard from linkwatch.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

import linkwatch
from httpserver import Content, LocalServer
from linkwatch.schedule import by_host, host_of

FIXTURES = Path(__file__).parent / "fixtures"
PDF = FIXTURES / "pdfs" / "A_RES_78_323.en.pdf"
HOSTS = 4
PER_HOST = 6


def test_by_host_takes_one_document_of_each_host_in_turn_and_keeps_each_hosts_order() -> None:
    urls = ["https://a.example/1", "https://a.example/2", "https://a.example/3", "https://b.example/1",
            "https://c.example/1", "https://c.example/2", "not a url"]
    assert list(by_host(urls, str)) == [
        "https://a.example/1", "https://b.example/1", "https://c.example/1", "not a url",
        "https://a.example/2", "https://c.example/2", "https://a.example/3"]
    interleaved = ["https://a.example/1", "https://b.example/1", "https://a.example/2", "https://b.example/2"]
    assert list(by_host(interleaved, str)) == interleaved  # already alternating: unchanged
    assert host_of("HTTPS://Docs.UN.org:443/x") == "docs.un.org" and host_of("http://[::1") == ""


@pytest.fixture
def servers() -> Iterator[list[LocalServer]]:
    # 127.0.0.0/8 is all loopback on Linux: each address is another host to linkwatch's limiters.
    with ExitStack() as stack:
        yield [stack.enter_context(LocalServer(host=f"127.0.0.{i + 1}")) for i in range(HOSTS)]


def _host_major_manifest(tmp_path: Path, servers: list[LocalServer]) -> Path:
    lines = []
    for s, srv in enumerate(servers):
        for i in range(PER_HOST):
            url = srv.route(f"/doc-{i}.pdf", Content.file(PDF))
            lines.append(f'[[document]]\nid = "h{s}-{i}"\nurl = "{url}"\n')
    path = tmp_path / "host-major.toml"
    path.write_text("\n".join(lines))
    return path


@pytest.mark.parametrize("availability_only", [False, True], ids=["thread-pool", "bulk-prober"])
def test_a_host_major_manifest_reaches_every_host_before_the_first_host_is_done(
        tmp_path: Path, servers: list[LocalServer], availability_only: bool) -> None:
    manifest = _host_major_manifest(tmp_path, servers)
    report = linkwatch.check(manifest, archive=tmp_path / "archive", concurrency=HOSTS, per_host=1,
                             min_interval=0.3, timeout=10.0, progress=False, availability_only=availability_only)
    assert [d.status for d in report.documents] == ["ok"] * HOSTS * PER_HOST
    assert [d.id for d in report.documents] == [f"h{s}-{i}" for s in range(HOSTS) for i in range(PER_HOST)]
    first_host = sorted(r.received_at for r in servers[0].requests())
    first_seen = [min(r.received_at for r in srv.requests()) for srv in servers]
    # In manifest order every worker would queue on host 0 (one request per 0.3 s) and the others
    # would wait until it is nearly done; in turn, each host is asked before host 0's second request.
    assert max(first_seen) < first_host[1], (first_seen, first_host)
    for srv in servers:  # politeness per host is untouched
        assert srv.max_in_flight() <= 1
