"""Where linkwatch may write a file it is asked to (``--output``, ``export … DEST``): never onto an
input of the same command (a manifest, a report being merged), never inside the archive (its
``index.sqlite``, blobs, WARCs), and only where writing will work — checked before any work, so a
long run never ends unable to say what it found.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


class UnsafeOutput(ValueError):
    """The output path would destroy an input or the archive, or cannot be written (exit 2)."""


def check_output(output: str | os.PathLike[str] | None, *, reading: Iterable[str | os.PathLike[str]] = (),
                 archive: str | os.PathLike[str] | None = None, what: str = "--output") -> None:
    """Raise :class:`UnsafeOutput` unless ``output`` can be written safely (None: stdout, fine).

    An existing special file (``/dev/null``, a FIFO) is written into, never replaced: allowed."""
    if output is None:
        return
    path = Path(output)
    if path.exists() and not path.is_file() and not path.is_dir():
        return  # /dev/stdout, /dev/null, a FIFO
    target = path.resolve()
    for source in reading:
        if _same(target, Path(source)):
            raise UnsafeOutput(f"{what} {output}: that is {source}, which this command reads; choose another file")
    if archive is not None:
        root = Path(archive).resolve()
        if target == root or root in target.parents:
            raise UnsafeOutput(f"{what} {output} is inside the archive {archive}: writing there could destroy "
                               "it; choose a file outside the archive")
    if path.is_dir():
        raise UnsafeOutput(f"{what} {output} is a folder; give a file name")
    _writable(path, what)


def _same(target: Path, source: Path) -> bool:
    try:
        return target == source.resolve() or (target.exists() and os.path.samefile(target, source))
    except OSError:
        return False


def _writable(path: Path, what: str) -> None:
    """Create and remove a file next to ``path`` (where the atomic write's temporary file goes)."""
    folder = path.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.probe-"):
            pass
    except OSError as exc:
        raise UnsafeOutput(f"{what} {path}: cannot write there ({exc.strerror or exc}); "
                           "check the folder exists and is writable") from None
