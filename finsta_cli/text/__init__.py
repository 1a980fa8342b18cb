"""Text side of finsta: spaCy model resolution and (later) the textual scene graph parser."""

from finsta_cli.text.spacy_model import DEFAULT_SPACY_MODELS, SpacyModelInfo, resolve_spacy_model

__all__ = ["DEFAULT_SPACY_MODELS", "SpacyModelInfo", "resolve_spacy_model"]
