"""A pure-Python approximation of coco-caption's tokenizer (Stanford PTBTokenizer 3.4.1 with
``-preserveLines -lowerCase``, then its punctuation tokens removed).

What it does, in order (the rules were written from PTBTokenizer's documented behaviour and checked
against the jar's output; docs/datasets.md "Captioning" says how often they differ):

- lowercase; curly quotes, dashes and the ellipsis character read as their ASCII forms;
- split into tokens: acronyms with periods (``u.s.``, ``p.m.``) and known abbreviations
  (``mr.``, ``etc.``) keep their period; numbers keep inner ``.``, ``,`` and ``:`` (``3.5``,
  ``1,000``); words keep inner hyphens, slashes, apostrophes and periods (``well-known``,
  ``cats/dogs``, ``sky.a``); clitics written apart (``man 's``) stay one token; runs of ``?``/``!``
  and ``--`` are one token, runs of periods are dropped; any other character is a token alone;
- contractions are split as PTB does (``doesn't`` -> ``does n't``, ``it's`` -> ``it 's``,
  ``cannot`` -> ``can not``, ``gonna`` -> ``gon na``);
- brackets become ``-lrb-``, ``-rsb-`` and so on, and double quotes become quote tokens;
- the tokens coco-caption drops are dropped (its ``PUNCTUATIONS``: quotes, ``.``, ``,``, ``?``,
  ``!``, ``:``, ``;``, ``-``, ``--``, ``...``). The bracket tokens stay: coco-caption's list has
  them in upper case and the tokenizer's output is lower case, so they are never dropped there
  either.
"""

from __future__ import annotations

import re

# coco-caption's PUNCTUATIONS (pycocoevalcap.tokenizer.ptbtokenizer), compared after lowercasing
# exactly as it compares them: its "-LRB-" never matches the lowercased "-lrb-".
DROPPED = frozenset(
    [
        "''",
        "'",
        "``",
        "`",
        "-LRB-",
        "-RRB-",
        "-LCB-",
        "-RCB-",
        ".",
        "?",
        "!",
        ",",
        ":",
        "-",
        "--",
        "...",
        ";",
    ]
)

# Words PTBTokenizer keeps together with their period (a subset of its abbreviation list: the
# ones that occur in captions).
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "prof",
        "inc",
        "ltd",
        "co",
        "mt",
        "ft",
        "jan",
        "feb",
        "mar",
        "apr",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "corp",
        "gen",
        "gov",
        "sen",
        "rep",
        "lt",
        "col",
        "sgt",
        "capt",
    ]
)
_NORMALIZE = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2014": "--",
        "\u2013": "--",
        "\u2026": "...",
        "\u00a0": " ",
    }
)
_ABBREVIATION = "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))
_PIECE = re.compile(
    rf"""
      (?<![^\W_])(?:{_ABBREVIATION})\.          # mr. etc.
    | [^\W_](?:\.[^\W\d_])+\.                    # u.s. p.m. e.g.
    | \d+(?:[.,:]\d+)+(?![^\W_])                 # 3.5 1,000 10:30
    | [^\W_]+(?:[-/'.][^\W_]+)*                  # words: well-known cats/dogs doesn't sky.a
    | '(?:s|m|d|re|ve|ll)(?![^\W_]) | n't        # clitics written apart: "man 's"
    | \.{{2,}} | -{{2,}} | [?!]{{2,}}            # .. ... -- ?!
    | \S                                         # any other character alone
    """,
    re.VERBOSE,
)
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_CLITIC = re.compile(r"^(.+?)('s|'m|'d|'re|'ve|'ll)$")
_SPLIT_WORDS = {
    "cannot": ("can", "not"),
    "gonna": ("gon", "na"),
    "gotta": ("got", "ta"),
    "wanna": ("wan", "na"),
    "gimme": ("gim", "me"),
    "lemme": ("lem", "me"),
}


def tokenize(text: str) -> list[str]:
    """``text`` as coco-caption's tokens, approximately (see the module docstring)."""
    tokens: list[str] = []
    for piece in _PIECE.findall(text.lower().translate(_NORMALIZE)):
        if piece.isalnum() and piece not in _SPLIT_WORDS:  # most pieces: a plain word
            tokens.append(piece)
            continue
        for token in _split_piece(piece):
            if token not in DROPPED:
                tokens.append(token)
    return tokens


def _split_piece(piece: str) -> tuple[str, ...]:
    if piece.startswith(".."):  # PTB reads 3 or more as "...", 2 as ". ."; all dropped
        return ()
    if piece in _BRACKETS:
        return (_BRACKETS[piece],)
    if piece == '"':
        return ("''",)
    if piece in _SPLIT_WORDS:
        return _SPLIT_WORDS[piece]
    if len(piece) > 3 and piece.endswith("n't"):
        return (piece[:-3], "n't")
    clitic = _CLITIC.match(piece)
    if clitic is not None:
        return (clitic.group(1), clitic.group(2))
    return (piece,)
