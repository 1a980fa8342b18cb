"""Text side of finsta: spaCy model resolution and the textual scene graph (TSG) parser."""

from finsta_cli.text.factual import format_facts, parse_facts, tsg_to_facts
from finsta_cli.text.parser import load_nlp, parse_doc, parse_texts
from finsta_cli.text.spacy_model import DEFAULT_SPACY_MODELS, SpacyModelInfo, resolve_spacy_model

__all__ = [
    "DEFAULT_SPACY_MODELS",
    "SpacyModelInfo",
    "format_facts",
    "load_nlp",
    "parse_doc",
    "parse_facts",
    "parse_texts",
    "resolve_spacy_model",
    "tsg_to_facts",
]
