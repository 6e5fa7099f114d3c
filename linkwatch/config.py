"""Options from a file found by convention, so that they do not repeat in every workflow.

``linkwatch.toml`` in the current folder or the nearest parent (up to the repository root, the
first folder holding ``.git``), else a ``[tool.linkwatch]`` table in the ``pyproject.toml`` found
the same way. Keys are the long option names, with dashes or underscores::

    manifests = ["manifests/*.toml"]   # used when the command names none (globs expanded)
    per-host = 1
    fail-on = "warning"
    exclude = ["https://example.org/*"]
    user-agent = "our-library-linkcheck/1.0 (+mailto:refs@example.org)"

A value applies to every command that has that option; a command-line option overrides it.
``LINKWATCH_CONFIG=FILE`` names the file instead (``LINKWATCH_CONFIG=`` with no value: none).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

NAME = "linkwatch.toml"


class ConfigError(ValueError):
    """The configuration file is unreadable, or names an option or a value linkwatch refuses."""


@dataclass(frozen=True)
class Config:
    path: Path  # the file it came from
    values: dict[str, Any]  # option name (dest: underscores) → value

    def where(self, key: str) -> str:
        table = " [tool.linkwatch]" if self.path.name == "pyproject.toml" else ""
        return f"{self.path}{table}: {key.replace('_', '-')}"


def find(start: Path | None = None) -> Config | None:
    """The configuration that applies in ``start`` (default: the current folder), or None."""
    named = os.environ.get("LINKWATCH_CONFIG")
    if named is not None:
        return _read(Path(named), table=Path(named).name == "pyproject.toml") if named else None
    folder = (start or Path.cwd()).absolute()
    for here in (folder, *folder.parents):
        if (here / NAME).is_file():
            return _read(here / NAME, table=False)
        if (here / "pyproject.toml").is_file():
            found = _read(here / "pyproject.toml", table=True)
            if found.values:
                return found
        if (here / ".git").exists():
            break
    return None


def _read(path: Path, table: bool) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
    if table:
        data = data.get("tool", {}).get("linkwatch", {})
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.linkwatch] must be a table")
    return Config(path, {str(k).replace("-", "_"): v for k, v in data.items()})
