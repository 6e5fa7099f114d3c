"""What inspecting a PDF found: plain data passed from the sandboxed worker to the pipeline."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Inspection:
    """What inspecting one file found. Plain data, JSON-friendly.

    Title policy: :attr:`title` is the text as printed (whitespace collapsed, lines joined,
    footnote calls dropped), keeping typographic quotes and capitals: it is evidence, not a key.
    Compare titles with :func:`linkwatch.pdf.reading.title_key`.
    """

    pages: int | None = None
    symbols: list[str] = field(default_factory=list)  # the document's own, normalised display form
    title: str | None = None
    lang: str | None = None  # ISO 639-1: en fr es ru ar zh ...
    placeholder: bool = False  # the ODS "document does not exist" page
    reissued: bool = False  # "Reissued for technical reasons" / asterisked symbol
    error: str | None = None  # None, or "timeout", "memory", "encrypted", "malformed: <detail>"
    symbol_source: str | None = None  # where symbols were read: "masthead", "header", "metadata"
    # Symbols page 1 seems to print but whose reading looks like an OCR misreading ("A/39/36I"):
    # the symbol each probably stands for. Candidates, not evidence: never in `symbols`.
    unverified: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return asdict(self)


class InspectError(RuntimeError):
    """extract_text could not read a file; ``.kind`` is an Inspection.error string."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
