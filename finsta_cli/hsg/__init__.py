"""Holistic scene graphs: cross-modal coreference between TSG and DSG, and HSG assembly."""

from finsta_cli.hsg.build import BuildHSGConfig, Pair, build_hsg, default_pairs, run_build_hsg
from finsta_cli.hsg.lexicon import Lexicon, load_lexicon
from finsta_cli.hsg.match import MatchOptions, RuleMatcher

__all__ = [
    "BuildHSGConfig",
    "Lexicon",
    "MatchOptions",
    "Pair",
    "RuleMatcher",
    "build_hsg",
    "default_pairs",
    "load_lexicon",
    "run_build_hsg",
]
