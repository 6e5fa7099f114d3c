"""Every run option is validated once, before any work, for the command line and the API alike
(issue 12, item 14): a value that cannot work is exit 2 (CLI) or OptionError (API), naming the
option both ways, with no request made and no archive created."""
from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.cli import main
from linkwatch.validation import OptionError

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"

# (CLI arguments, API keyword arguments, words the message must hold)
BAD = [
    (["--timeout", "nan"], {"timeout": float("nan")}, "timeout (--timeout): must be a finite number"),
    (["--timeout", "inf"], {"timeout": float("inf")}, "must be a finite number"),
    (["--timeout", "-1"], {"timeout": -1}, "timeout (--timeout): must be more than 0"),
    (["--min-interval", "inf"], {"min_interval": float("inf")}, "min_interval (--min-interval): must be a finite"),
    (["--min-rate", "-1"], {"min_rate": -1}, "min_rate (--min-rate): must be at least 0"),
    (["--concurrency", "0"], {"concurrency": 0}, "concurrency (--concurrency): must be at least 1"),
    (["--retries", "-5"], {"retries": -5}, "retries (--retries): must be at least 0"),
    (["--max-size", "0"], {"max_size": 0}, "max_size (--max-size): must be at least 1"),
    (["--max-time", "0"], {"max_time": 0}, "max_time (--max-time): must be more than 0"),
    (["--max-document-time", "nan"], {"max_document_time": float("nan")}, "must be a finite number"),
    (["--ca-bundle", "/no/such/ca.pem"], {"ca_bundle": "/no/such/ca.pem"}, "ca_bundle (--ca-bundle): '/no/such"),
    (None, {"concurrency": True}, "must be a whole number"),
    (None, {"per_host": 2.5}, "must be a whole number"),
    (None, {"shard": (3, 2)}, "shard (--shard): must be (K, N)"),
    (None, {"cdx_url": "file:///etc/passwd"}, "must be an http(s) URL"),
    (None, {"host_headers": {"a.org/x": {"A": "b"}}}, "is not a host name"),
]


@pytest.fixture
def manifest(server: LocalServer, tmp_path: Path) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "a"\nsymbol = "A/80/62"\n'
                    f'url = "{server.route("/a.pdf", Content.file(PDF, "application/pdf"))}"\n')
    return path


@pytest.mark.parametrize("cli, api, words", BAD)
def test_a_bad_option_is_refused_before_any_work(cli, api, words, manifest: Path, server: LocalServer,
                                                 tmp_path: Path, capsys) -> None:
    archive = tmp_path / "archive"
    if cli is not None:
        assert main(["check", str(manifest), "--archive", str(archive), "--no-progress", *cli]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    with pytest.raises(OptionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        linkwatch.check(manifest, archive=archive, progress=False, **api)
    assert server.hits() == 0 and not archive.exists()


def test_a_ca_bundle_without_certificates_is_refused_on_every_run(manifest: Path, tmp_path: Path) -> None:
    # It used to pass a first run (the thread pool loads it lazily) and crash the next (bulk path).
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    for _ in range(2):
        with pytest.raises(OptionError, match="no CA certificate could be loaded"):
            linkwatch.check(manifest, archive=tmp_path / "a", ca_bundle=str(bundle), progress=False)


def test_good_values_at_the_edges_run(manifest: Path, tmp_path: Path) -> None:
    report = linkwatch.check(manifest, archive=tmp_path / "a", progress=False, retries=0, min_interval=0,
                             min_rate=0, max_time=None, backoff=0)
    assert report.documents[0].status == "ok"
