"""--shard K/N by host: whole hosts per shard, balanced when one host dominates, and the per-host
limits held *at the server* when N shard processes run at once."""
from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import Content, Delay, LocalServer

from linkwatch.manifest import Document
from linkwatch.shard import host_of, place, select

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "tests" / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"


def _docs(counts: dict[str, int]) -> list[Document]:
    return [Document(id=f"{h}-{i}", url=f"https://{h}/{i}.pdf") for h, n in counts.items() for i in range(n)]


def test_a_shard_owns_whole_hosts_and_every_document_once() -> None:
    rng = random.Random(7)
    docs = _docs({f"h{i}.example.org": rng.randint(1, 9) for i in range(60)})
    rng.shuffle(docs)
    shards = [select(docs, k, 5) for k in range(1, 6)]
    assert sorted(d.id for s in shards for d in s) == sorted(d.id for d in docs)
    owners = [{host_of(d.url) for d in s} for s in shards]
    assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1:])  # no host in two shards
    assert [d.id for d in shards[0]] == [d.id for d in docs if d in shards[0]]  # manifest order kept
    assert [d.id for d in select(list(reversed(docs)), 1, 5)] == [d.id for d in reversed(shards[0])]


def test_a_dominant_host_gets_a_shard_of_its_own_and_the_rest_stay_balanced() -> None:
    rng = random.Random(1)
    counts = {"documents.un.org": 6000, **{f"h{i}.example.org": rng.randint(1, 40) for i in range(300)}}
    placed = place(counts, 8)
    load: dict[int, int] = {}
    for host, shard in placed.items():
        load[shard] = load.get(shard, 0) + counts[host]
    big = placed["documents.un.org"]
    assert load[big] == 6000  # alone: nothing else waits behind the politeness-bound host
    rest = [v for s, v in load.items() if s != big]
    even = sum(rest) / 7
    assert len(rest) == 7 and max(rest) <= 1.25 * even + 40 and min(rest) >= 0.6 * even


def test_mirrors_and_known_redirects_keep_their_hosts_in_one_shard() -> None:
    docs = [Document(id=f"d{i}", url=f"https://a{i}.org/x.pdf", mirrors=(f"https://m{i % 3}.org/x.pdf",))
            for i in range(30)] + [Document(id="u", url="https://undocs.org/A/1"),
                                   Document(id="o", url="https://documents.un.org/A/2")]
    groups = [("undocs.org", "documents.un.org")]
    shards = [select(docs, k, 4, same_host=groups) for k in range(1, 5)]
    for s in shards:
        ids = {d.id for d in s}
        assert ("u" in ids) == ("o" in ids)
    mirror_shard = {d.mirrors[0]: k for k, s in enumerate(shards) for d in s if d.mirrors}
    by_mirror = {(d.mirrors[0], k) for k, s in enumerate(shards) for d in s if d.mirrors}
    assert len(by_mirror) == len(mirror_shard) == 3  # every document of one mirror host in one shard


def test_shard_by_document_is_still_there() -> None:
    docs = _docs({"x.org": 200})
    assert len(select(docs, 1, 4, by="host")) in (0, 200)
    sizes = [len(select(docs, k, 4, by="document")) for k in range(1, 5)]
    assert sum(sizes) == 200 and all(25 <= n <= 75 for n in sizes)


# -- at the server: N shard processes at once ---------------------------------------------------------
PER_HOST, INTERVAL, SHARDS = 2, 0.1, 3
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")


@pytest.fixture
def hosts() -> Iterator[list[LocalServer]]:
    """One server per loopback address: each is one host to the per-host limits."""
    servers = [LocalServer(host=h).start() for h in HOSTS]
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


def test_parallel_shards_hold_the_per_host_limits_at_the_server(hosts: list[LocalServer], tmp_path: Path) -> None:
    # One host dominates (18 documents), three have 4 each; answers take 0.3 s so that requests of
    # different shards to one host would overlap if two shards shared it.
    slow = Delay(0.3, Content.file(PDF, "application/pdf"))
    counts = {hosts[0]: 18, hosts[1]: 4, hosts[2]: 4, hosts[3]: 4}
    lines = []
    for srv, n in counts.items():
        for i in range(n):
            url = srv.route(f"/{i}.pdf", slow)
            lines.append(f'[[document]]\nid = "{srv.port}-{i}"\nurl = "{url}"\n')
    manifest = tmp_path / "m.toml"
    manifest.write_text("\n".join(lines), encoding="utf-8")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "linkwatch", "check", str(manifest), "--shard", f"{k}/{SHARDS}",
         "--archive", str(tmp_path / f"a{k}"), "--per-host", str(PER_HOST), "--min-interval", str(INTERVAL),
         "--concurrency", "8", "--retries", "0", "--timeout", "20", "--no-progress", "--format", "json",
         "--output", str(tmp_path / f"s{k}.json"), "--fail-on", "never"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for k in range(1, SHARDS + 1)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read().decode() if p.stderr else ""
    assert sum(s.hits() for s in hosts) == 30  # every document fetched once, by one shard
    for srv in hosts:
        assert srv.max_in_flight() <= PER_HOST, srv.base_url
        _assert_spaced([r.received_at for r in srv.requests()], INTERVAL, srv.base_url)


def _assert_spaced(starts: list[float], interval: float, host: str, window: float = 1.0) -> None:
    """At most window/interval + 1 starts in any window (one more for the server's timing jitter)."""
    starts = sorted(starts)
    allowed = int(window / interval) + 1 + 1
    for i, t in enumerate(starts):
        inside = sum(1 for u in starts[i:] if u - t < window)
        assert inside <= allowed, f"{host}: {inside} request starts within {window} s of {t:.3f}"
