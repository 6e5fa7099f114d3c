"""A redirect from a public address into an internal one is refused (issue 12, item 5).

Two real servers: "public" on 127.0.0.1 and "internal" on 127.0.0.2, with ``internal_networks``
saying that 127.0.0.2/32 is the internal network (by default: every address that is not globally
routable — loopback, private ranges, link-local 169.254.169.254). Both clients (thread pool and
bulk) refuse before sending anything there, unless the document's own URL is internal too or
``allow_internal_redirects`` is set; and nothing an internal service answers is kept.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Redirect

import linkwatch
from linkwatch.http import fetcher as fetcher_module
from linkwatch.http.client import FetchConfig, FetchResult, is_internal
from linkwatch.http.fetcher import Fetcher
from linkwatch.http.prober import Prober

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"
SECRET = b"iam-role-credentials: AKIA-not-for-the-archive"
NETS = ("127.0.0.2/32",)


@pytest.fixture
def servers():
    with LocalServer("127.0.0.1") as public, LocalServer("127.0.0.2") as internal:
        internal.route("/latest/meta-data", Content(SECRET, "text/plain"))
        internal.route("/doc.pdf", Content.file(PDF, "application/pdf"))
        internal.route("/hop", Redirect("/doc.pdf", 302))
        public.route("/r", Redirect(internal.url("/latest/meta-data"), 302))
        yield public, internal


def _all_ways(config: FetchConfig, url: str, tmp: Path) -> dict[str, FetchResult]:
    with Fetcher(config) as f:
        got = {"fetch": f.fetch(url, tmp), "probe": f.probe(url)}
    for process in (False, True):
        for batch in Prober(config, process=process).probe_all([("bulk", url)]):
            got[f"bulk-{'process' if process else 'thread'}"] = batch[0][1]
    return got


def test_every_client_refuses_a_public_to_internal_redirect_before_sending(servers, tmp_path: Path) -> None:
    public, internal = servers
    config = FetchConfig(retries=0, min_interval=0, internal_networks=NETS)
    for way, r in _all_ways(config, public.url("/r"), tmp_path).items():
        assert r.error_kind == "refused-redirect", way
        assert "redirect to an internal address refused: 127.0.0.2 is 127.0.0.2" in r.error
        assert r.body_path is None and r.http_status == 302 and r.final_url == public.url("/r")
    assert internal.hits() == 0  # refused on the resolved address, before any request


def test_internal_documents_may_redirect_internally_and_the_option_allows_the_rest(servers, tmp_path: Path) -> None:
    public, internal = servers
    inside = _all_ways(FetchConfig(retries=0, min_interval=0, internal_networks=NETS), internal.url("/hop"), tmp_path)
    assert {r.http_status for r in inside.values()} == {200}
    allowed = _all_ways(FetchConfig(retries=0, min_interval=0, internal_networks=NETS, allow_internal_redirects=True),
                        public.url("/r"), tmp_path)
    assert {(r.http_status, r.error) for r in allowed.values()} == {(200, None)}


def test_the_address_that_answered_is_checked_too(servers, tmp_path: Path, monkeypatch) -> None:
    # DNS rebinding: the name resolved to a public address when checked, then the connection went
    # to an internal one. Simulated by answering the check's lookup with a public address.
    public, internal = servers
    monkeypatch.setattr(fetcher_module, "resolve", lambda host, port: ["127.0.0.1"])
    with Fetcher(FetchConfig(retries=0, min_interval=0, internal_networks=NETS)) as f:
        r = f.fetch(public.url("/r"), tmp_path)
    assert r.error_kind == "refused-redirect" and r.body_path is None and r.size is None
    assert internal.hits() == 1 and internal.body_bytes() == len(SECRET)  # asked, but nothing read or kept
    assert not list(tmp_path.glob(".part-*"))


def test_nothing_internal_is_archived(servers, tmp_path: Path) -> None:
    public, _ = servers
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "r"\nsymbol = "A/80/62"\nurl = "{public.url("/r")}"\n')
    report = linkwatch.archive(manifest, archive=tmp_path / "a", internal_networks=NETS, retries=0, min_interval=0,
                               progress=False)
    doc = report.documents[0]
    assert doc.status == "broken" and "internal address refused" in doc.error and "moved" not in doc.drift
    kept = b"".join(p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert SECRET not in kept


@pytest.mark.parametrize("address, internal", [
    ("169.254.169.254", True), ("10.1.2.3", True), ("192.168.0.1", True), ("172.16.0.1", True), ("127.0.0.1", True),
    ("100.64.0.1", True), ("::1", True), ("fe80::1", True), ("fd00::1", True), ("::ffff:10.0.0.1", True),
    ("0.0.0.0", True), ("8.8.8.8", False), ("2001:4860:4860::8888", False), ("::ffff:8.8.8.8", False)])
def test_what_is_internal_by_default(address: str, internal: bool) -> None:
    assert is_internal(address) is internal
