"""A set of hostile files for inspection tests, generated on demand (nothing binary is shipped).

Each builder returns bytes; :func:`write_all` writes the whole set into a folder. Real UN PDFs are
the raw material where a real file helps (truncation); the rest are built by hand with the PDF
syntax spelled out, so a reader can see exactly what makes each file hostile.

=======================  ===================================================  ==================
name                     what                                                 expected
=======================  ===================================================  ==================
truncated.pdf            the first half of a real UN PDF                      malformed
garbage.pdf              ``%PDF-1.7`` then 200 kB of random bytes             malformed
encrypted.pdf            RC4 with a user password                             encrypted
flate-bomb.pdf           a content stream of 1 GiB of zeros in ~1 MB          memory
operators.pdf            a content stream of 2 million tiny operators         timeout
page-tree-cycle.pdf      a /Pages node that is its own kid                    malformed
xref-prev-cycle.pdf      two xref sections whose /Prev point at each other    read (pypdf guards)
masthead-spaces.pdf      a masthead with 100,000 spaces inside (~700 bytes)   read (linear time)
zip.pdf                  a ZIP archive named .pdf                             malformed
html.pdf                 an HTML page named .pdf                              malformed
=======================  ===================================================  ==================
"""
from __future__ import annotations

import io
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

PDFS = Path(__file__).parent / "fixtures" / "pdfs"


def _pdf(objects: list[bytes], root: int = 1, extra_trailer: bytes = b"") -> bytes:
    """A classic PDF from numbered object bodies (object i+1 = objects[i]) with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, root, extra_trailer, xref))
    return out.getvalue()


def _stream(data: bytes, flate: bool = True) -> bytes:
    body = zlib.compress(data, 9) if flate else data
    filt = b"/Filter /FlateDecode " if flate else b""
    return b"<< /Length %d %s>>\nstream\n" % (len(body), filt) + body + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _one_page(content: bytes) -> bytes:
    """Catalog, pages, one page with a Helvetica font, and the given (already built) content object."""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        content,
        _FONT,
    ])


def truncated() -> bytes:
    data = (PDFS / "A_79_716.en.pdf").read_bytes()
    return data[: len(data) // 2]


def garbage() -> bytes:
    return b"%PDF-1.7\n" + random.Random(4).randbytes(200_000)


def encrypted() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def flate_bomb(size: int = 1 << 30) -> bytes:
    """A page whose content stream inflates to ``size`` bytes of zeros (1 GiB → ~1 MB), in 10 ms.

    A valid zlib stream built without compressing a gigabyte: a full flush resets the deflate
    state, so 1 MiB of zeros compresses to the same ~1 kB piece every time; the pieces are
    repeated, closed by an empty final block, and the Adler-32 of the whole is computed directly.
    """
    prefix = b"BT /F1 12 Tf (x) Tj ET\n"
    mib = 1 << 20

    def raw(data: bytes) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)

    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty block with BFINAL set
    a = zlib.adler32(prefix)
    low, high = a & 0xFFFF, ((a >> 16) + size * (a & 0xFFFF)) % 65521  # zeros only advance the sum
    body = (b"\x78\xda" + raw(prefix) + raw(bytes(mib)) * (size // mib) + final
            + ((high << 16) | low).to_bytes(4, "big"))
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream"
    return _one_page(stream)


def operators(count: int = 2_000_000) -> bytes:
    """Text shown one glyph per operator, millions of times: slow to extract, small to ship."""
    content = b"BT /F1 1 Tf " + b"(x) Tj " * count + b"ET"
    return _one_page(_stream(content))


def page_tree_cycle() -> bytes:
    """The root /Pages node lists itself among its kids: a naive walk never ends."""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


def xref_prev_cycle() -> bytes:
    """Two xref sections whose trailers' /Prev point at each other (a loop for xref readers)."""
    first = _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])
    xref1 = int(first.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    first = first.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %010d " % 0)  # width reserved
    xref2 = len(first)
    first = first.replace(b"/Prev %010d " % 0, b"/Prev %010d " % xref2)
    update = (b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 4 /Root 1 0 R /Prev %d >>\n"
              b"startxref\n%d\n%%%%EOF\n" % (xref1, xref2))
    return first + update


def masthead_spaces(spaces: int = 100_000) -> bytes:
    """A masthead "United Nations A" + 100,000 spaces + "/79/62!" in a ~700-byte file (the spaces
    compress to nothing): the symbol patterns once took time quadratic in such a line."""
    content = b"BT /F1 10 Tf 72 720 Td (United Nations A" + b" " * spaces + b"/79/62!) Tj ET"
    return _one_page(_stream(content))


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("document.pdf", b"%PDF-1.7 not really")
    return out.getvalue()


def html() -> bytes:
    return b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>"


def _literal(text: str) -> bytes:
    raw = text.encode("latin-1")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def un_page(lines: list[str], font: bytes = _FONT, extra: list[bytes] | None = None) -> bytes:
    """A one-page PDF whose text is ``lines`` (latin-1), one per line, set in ``font`` (object 5;
    ``extra`` objects follow it, from 6): a UN-style page 1 when the lines are a masthead, "Distr.",
    a title…"""
    content = b"BT /F1 10 Tf 72 720 Td 14 TL " + b" ".join(_literal(line) + b" '" for line in lines) + b" ET"
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(content),
        font,
        *(extra or []),
    ])


def evil_encoding_name() -> bytes:
    """A font whose /Encoding is a name pypdf does not know and quotes in its log: ``#0A`` (a line
    break), ``#1B`` (ESC) and workflow commands, decoded (PDF name escapes) when it logs them."""
    name = b"/Evil#0A::error#20file=evil.toml,line=1::pwned#1B[31mRED#0A##[error]legacy"
    return un_page(["United Nations A/79/1", "Distr.: General"],
                   b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding " + name + b" >>")


#: name → (builder, the Inspection.error expected: exact, a prefix ending in ":", or None when
#: pypdf reads the file anyway: the xref loop is detected and the one page has no text to verify).
HOSTILE: dict[str, tuple[Callable[[], bytes], str | None]] = {
    "truncated.pdf": (truncated, "malformed:"),
    "garbage.pdf": (garbage, "malformed:"),
    "encrypted.pdf": (encrypted, "encrypted"),
    "flate-bomb.pdf": (flate_bomb, "memory"),
    "operators.pdf": (operators, "timeout"),
    "page-tree-cycle.pdf": (page_tree_cycle, "malformed:"),
    "xref-prev-cycle.pdf": (xref_prev_cycle, None),
    "masthead-spaces.pdf": (masthead_spaces, None),
    "zip.pdf": (zip_file, "malformed:"),
    "html.pdf": (html, "malformed:"),
}


def write_all(folder: Path) -> dict[str, Path]:
    """Write every hostile file into ``folder``; name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (build, _) in HOSTILE.items():
        paths[name] = folder / name
        paths[name].write_bytes(build())
    return paths
