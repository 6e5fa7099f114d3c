"""Planning a run: what each task knows of the last runs, read in as few queries as possible."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from linkwatch.store.index import Index
from linkwatch.pdf.inspect import Inspection
from linkwatch.manifest import Document
from linkwatch.observation import Observation
from linkwatch.plan import failure_streak, plan

A = Document(id="a", url="https://x.org/a.pdf", mirrors=("https://m.org/a.pdf",), manifest="m.toml", line=1)
B = Document(id="b", url="https://x.org/b.pdf", manifest="m.toml", line=5)
C = Document(id="c", url="https://x.org/c.pdf", manifest="m.toml", line=9)  # never observed


def obs(doc: Document, status: str, *, url: str | None = None, sha: str | None = None, etag: str | None = None,
        http: int | None = 200) -> Observation:
    return Observation(document_id=doc.id, url=url or doc.url, observed_at="2026-01-01T00:00:00Z", status=status,
                       http_status=http, sha256=sha, sha512=sha and sha * 2, size=10 if sha else None, etag=etag,
                       request_headers={"User-Agent": "linkwatch"}, response_headers={"ETag": etag or ""},
                       inspection=Inspection(pages=1, symbols=["A/1"], title="T") if sha else None)


def reference(documents: list[Document], index: Index, keep_bytes: bool, has_blob, transient: int) -> list[tuple]:
    """What a plan must hold, read the obvious way: one full query per question."""
    out = []
    for doc in documents:
        latest = index.latest(doc.id)
        previous = latest
        if latest is not None and latest.status == "ok" and latest.sha256 is None and not latest.inspection:
            seen = index.latest_for_url(doc.id, latest.url)
            previous = latest.carry_content(seen) if seen is not None else latest
        validators = {}
        for url in doc.urls:
            seen = latest if latest is not None and latest.url == url and latest.sha256 is not None \
                else index.latest_for_url(doc.id, url)
            if seen is None or not (seen.etag or seen.last_modified):
                continue
            if keep_bytes and not (seen.sha256 and has_blob(seen.sha256)):
                continue
            validators[url] = seen.id
        streak = failure_streak(index.recent(doc.id, transient)) if transient > 1 else None
        out.append((_light(previous), validators, streak))
    return out


def _light(o: Observation | None) -> Observation | None:
    return None if o is None else replace(o, request_headers={}, response_headers={})


@pytest.mark.parametrize("keep_bytes", [False, True])
@pytest.mark.parametrize("transient", [1, 3])
def test_plan_holds_what_full_reads_would_and_no_headers(tmp_path: Path, keep_bytes: bool, transient: int) -> None:
    with Index(tmp_path / "index.sqlite") as index:
        index.upsert_documents([A, B, C], "2026-01-01T00:00:00Z")
        run = index.start_run("check", "2026-01-01T00:00:00Z", "0.1.0", ["m.toml"])
        for o in (obs(A, "ok", sha="1" * 64, etag='"a1"'),
                  obs(A, "ok", url=A.mirrors[0], sha="2" * 64, etag='"m1"'),
                  obs(A, "ok"),  # an availability-only ok: content facts come from the first
                  obs(B, "ok", sha="3" * 64, etag='"b1"'),
                  obs(B, "unreachable", http=None),
                  obs(B, "broken", http=503)):
            o.run_id = run
            index.record(o, [])
        has_blob = {"1" * 64}.__contains__
        tasks = plan([A, B, C], index, keep_bytes, has_blob, transient=transient)
        got = [(t.previous, {u: v.id for u, v in t.validators.items()}, t.streak) for t in tasks]
        assert got == reference([A, B, C], index, keep_bytes, has_blob, transient)
        a, b, c = tasks
        assert a.previous is not None and a.previous.sha256 == "1" * 64 and a.previous.inspection is not None
        assert set(a.validators) == ({A.url} if keep_bytes else {A.url, A.mirrors[0]})
        assert b.streak == (2 if transient > 1 else None) and c.previous is None and c.validators == {}
        assert all(o.response_headers == {} for t in tasks for o in [t.previous, *t.validators.values()] if o)
