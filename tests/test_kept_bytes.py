"""What an archive keeps of bodies that are not documents is bounded (issue 12, item 6).

A server answering random bytes (or "%PDF-" and then random bytes) would add up to --max-size to
the archive per document and run. Only a document of the cited kind that could be read is kept
whatever its size; anything else up to 1 MiB (soft 404 pages, challenges: evidence).
"""
from __future__ import annotations

import random
from pathlib import Path

from httpserver import Content, LocalServer, soft_404

import linkwatch
from linkwatch.observe import NON_DOCUMENT_KEEP

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"


def test_big_non_documents_are_judged_but_not_kept(tmp_path: Path) -> None:
    rng = random.Random(12)
    with LocalServer() as server:
        # Each request gets new random bytes, as a hostile or broken server would send.
        server.route("/noise.pdf", lambda ex: Content(rng.randbytes(2 * NON_DOCUMENT_KEEP), "application/pdf")(ex))
        server.route("/fake.pdf", lambda ex: Content(b"%PDF-1.7\n" + rng.randbytes(2 * NON_DOCUMENT_KEEP),
                                                     "application/pdf")(ex))
        server.route("/soft404.pdf", soft_404())
        server.route("/real.pdf", Content.file(PDF, "application/pdf"))
        manifest = tmp_path / "m.toml"
        manifest.write_text("".join(f'[[document]]\nid = "{n}"\nsymbol = "A/80/62"\nurl = "{server.url(f"/{n}.pdf")}"\n\n'
                                    for n in ("noise", "fake", "soft404", "real")))
        archive = tmp_path / "a"
        for _ in range(2):
            report = linkwatch.archive(manifest, archive=archive, min_interval=0, retries=0, progress=False)
    docs = {d.id: d for d in report.documents}
    assert docs["noise"].status == "wrong-type" and docs["fake"].status == "unverified"
    assert docs["noise"].sha256 and docs["fake"].sha256  # hashed and judged all the same
    blobs = {p.name for p in (archive / "blobs").rglob("*") if p.is_file()}
    assert blobs == {docs["soft404"].sha256, docs["real"].sha256}  # evidence and the document kept, no noise
