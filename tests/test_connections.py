"""The thread-pool Fetcher keeps a connection per host for every host of a big run: fetched host by
host in turn (linkwatch.schedule), a run over more hosts than it kept pools for opened a new TCP
(and TLS) connection for every request."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkwatch.http.client import FetchConfig
from linkwatch.http.fetcher import Fetcher, pools_kept
from linkwatch.schedule import by_host

HOSTS = 120  # more than the 100 pools the Fetcher used to keep


@pytest.fixture
def many_hosts() -> Iterator[tuple[list[str], list[int]]]:
    """HOSTS keep-alive servers on distinct loopback addresses, and the count of connections accepted."""
    accepted = [0]
    ready = threading.Event()
    hosts: list[str] = []
    loop = asyncio.new_event_loop()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 9\r\n\r\n%PDF-1.4\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start() -> list[asyncio.AbstractServer]:
        servers = [await asyncio.start_server(serve, f"127.0.1.{k + 1}", 0) for k in range(HOSTS)]
        hosts.extend("%s:%d" % s.sockets[0].getsockname()[:2] for s in servers)
        return servers

    def run() -> None:
        asyncio.set_event_loop(loop)
        servers = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        for s in servers:
            s.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:  # the connections still open: ended before the loop is
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield hosts, accepted
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_run_over_many_hosts_opens_one_connection_per_host(tmp_path: Path, many_hosts) -> None:
    hosts, accepted = many_hosts
    urls = [f"http://{h}/doc-{i}.pdf" for h in hosts for i in range(3)]
    with Fetcher(FetchConfig(per_host=2, min_interval=0, retries=0, timeout=10)) as fetcher:
        for url in by_host(urls, str):  # as a run fetches them: host after host, three rounds
            result = fetcher.fetch(url, tmp_path)
            assert result.http_status == 200, result.error
            Path(result.body_path).unlink()
    assert accepted[0] == HOSTS  # not one per request (360)


def test_kept_pools_fit_the_file_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda _what: (1024, 4096))
    assert pools_kept(2) == 256  # half the descriptors, two connections a host at most
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (1_048_576, 1_048_576))
    assert pools_kept(1) == 10_000
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (64, 64))
    assert pools_kept(8) == 100  # never fewer than before
