"""Holistic scene graphs: cross-modal coreference between TSG and DSG, and HSG assembly."""

from finsta_cli.hsg.build import BuildHSGConfig, Pair, build_hsg, default_pairs, run_build_hsg
from finsta_cli.hsg.embed import EmbedMatcher, EmbedOptions, HybridMatcher, PhraseEncoder
from finsta_cli.hsg.lexicon import Lexicon, load_lexicon
from finsta_cli.hsg.match import Matcher, MatchOptions, RuleMatcher
from finsta_cli.hsg.tensors import hsg_tensors, load_hsg_tensors, write_hsg_tensors

__all__ = [
    "BuildHSGConfig",
    "EmbedMatcher",
    "EmbedOptions",
    "HybridMatcher",
    "Lexicon",
    "MatchOptions",
    "Matcher",
    "Pair",
    "PhraseEncoder",
    "RuleMatcher",
    "build_hsg",
    "default_pairs",
    "hsg_tensors",
    "load_hsg_tensors",
    "load_lexicon",
    "run_build_hsg",
    "write_hsg_tensors",
]
