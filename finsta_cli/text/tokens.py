"""spaCy parses copied into plain :class:`Tok` tokens, fast: the lemma and attribute-ruler cache."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from finsta_cli.text.words import ARGUMENT_DEPS, INDEFINITE_PEOPLE

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


_ALNUM = re.compile(r"[^\W_]")


class Tok:
    """The parts of a spaCy Token the rules read, copied once per caption.

    Reading a spaCy ``Token`` attribute builds Python objects on every access; the rules read
    each token dozens of times, so a plain copy keeps them well below spaCy's own cost.
    """

    __slots__ = (
        "dep_", "head", "i", "idx", "is_punct", "lemma_", "lower_", "plural", "pos_", "tag_",
        "text", "verb",
    )  # fmt: skip

    def __init__(
        self, i: int, text: str, idx: int, lower: str, lemma: str, pos: str, tag: str, dep: str
    ) -> None:
        self.i = i
        self.text = text
        self.idx = idx
        self.lower_ = lower
        self.lemma_ = lemma
        self.pos_ = pos
        self.tag_ = tag
        self.dep_ = dep
        self.is_punct = False
        self.plural = tag == "NNS" or tag == "NNPS"
        self.verb = False  # re-read as a verb by repair_verbs: never read back as a noun
        self.head: Tok = self

    def __repr__(self) -> str:
        return f"{self.text}/{self.dep_}"


_STRINGS: dict[int, str] = {}  # spaCy string hash -> string, shared by every caption
_WRAP = 1 << 64


# The to_array attribute ids, filled on first use (spaCy is imported lazily).
_ATTRS: list[int | str] = []


class LemmaCache:
    """The lemmatizer's lemmas, memoised on (word, POS, morphology): what it computes from.

    spaCy's rule lemmatizer sets every token's lemma in Python, one token at a time; the stage
    runs ``nlp.pipe`` without it and asks this cache for the lemmas of the tokens that have
    none (the attribute ruler sets a few), computing each new (word, POS, morphology) once with
    the same lemmatizer. The lemmas are the ones the component would have written.

    With ``attribute_ruler=True`` the cache also stands in for the attribute ruler (POS,
    morphology and a few lemmas from the tagger's tags, run through spaCy's Matcher): its
    single-token patterns read a token's lowercase form, tag, dependency and whether it is a
    space, so the attributes it writes are memoised on (lowercase form, tag, dependency), the
    words and labels no pattern names folded into one each, and written back with one
    ``Doc.from_array``.
    A key not seen yet is looked up by running the ruler on a one-token Doc; a Doc with a
    space token (whose tag and dependency the ruler rewrites) or a word or dependency
    that one of its multi-word patterns needs ("gon na", "there is") goes through the ruler
    and leaves the memo alone. A ruler whose patterns read anything else is always run.
    """

    def __init__(self, nlp: Language, *, attribute_ruler: bool = False) -> None:
        self.lemmatizer: Any = nlp.get_pipe("lemmatizer")
        self.memo: dict[tuple[int, int, int], str] = {}
        self.ruler: Any = None
        self.attributes: dict[tuple[int, int, int], tuple[int, ...]] = {}
        # Words (lowercase) and dependencies one of whose tokens a multi-word pattern needs.
        self.trigger_words: set[int] = set()
        self.trigger_deps: set[int] = set()
        # The words and dependency labels the patterns test; the others all match alike.
        self.tested_words: set[int] = set()
        self.tested_deps: set[int] = set()
        self.word_patterns: list[re.Pattern[str]] = []  # words tested by regular expressions
        self.untested_words: set[int] = set()  # words seen that no pattern tests
        if attribute_ruler and "attribute_ruler" in nlp.pipe_names:
            self.ruler = nlp.get_pipe("attribute_ruler")
            strings = nlp.vocab.strings
            for pattern in self.ruler.patterns:
                for tokens in pattern["patterns"]:
                    if len(tokens) > 1:
                        if not self._add_trigger(tokens, strings):
                            self.ruler = None  # a pattern no word or label tells: run the ruler
                        continue
                    for token in tokens:
                        if set(token) - {"TAG", "LOWER", "DEP", "IS_SPACE"}:
                            self.ruler = None  # it reads more than the memo's key
                        for key, tested in (("LOWER", self.tested_words),
                                            ("DEP", self.tested_deps)):  # fmt: skip
                            value = token.get(key)
                            if key == "LOWER" and isinstance(value, dict) and "REGEX" in value:
                                self.word_patterns.append(re.compile(value["REGEX"]))
                                continue
                            values = _pattern_values(value)
                            if values is None:
                                self.ruler = None  # a test the memo cannot tell
                            else:
                                tested.update(strings.add(value) for value in values)

    def _add_trigger(self, tokens: list[dict[str, Any]], strings: Any) -> bool:
        """Record a word or dependency that a multi-word pattern cannot match without."""
        for token in tokens:
            for key, target in (("LOWER", self.trigger_words), ("ORTH", self.trigger_words),
                                ("DEP", self.trigger_deps)):  # fmt: skip
                value = token.get(key)
                values: list[Any] = (
                    list(value.get("IN") or []) if isinstance(value, dict) else [value]
                )
                if value is not None and values and all(isinstance(v, str) for v in values):
                    target.update(strings.add(v.lower() if key != "DEP" else v) for v in values)
                    return True
        return False

    @property
    def skipped_components(self) -> list[str]:
        """The components ``nlp.pipe`` can leave out when the Docs are read with this cache."""
        return ["lemmatizer"] + (["attribute_ruler"] if self.ruler is not None else [])

    def lemma(self, doc: Doc, i: int, key: tuple[int, int, int]) -> str:
        lemma = self.memo.get(key)
        if lemma is None:
            lemma = self.memo[key] = str(self.lemmatizer.lemmatize(doc[i])[0])
        return lemma

    def annotate_rows(self, doc: Doc, rows: list[list[int]]) -> bool:
        """The attribute ruler's POS, morphology and lemma written into ``rows`` (a Doc parsed
        without it, read by :func:`copy_tokens`: columns :data:`_ROW`), the Doc left alone.

        False when the Doc needs the ruler itself (a space token, or a word or dependency a
        multi-word pattern reads): then the ruler has annotated the Doc, and the rows are stale.
        """
        memo = self.attributes
        words, deps = self.trigger_words, self.trigger_deps
        space = _ROW.is_space
        lower_at, tag_at, dep_at = _ROW.lower, _ROW.tag, _ROW.dep
        if any(row[space] or row[lower_at] in words or row[dep_at] in deps for row in rows):
            self.ruler(doc)  # a pattern may read the neighbours: no memo from this Doc
            return False
        tested_words, tested_deps = self.tested_words, self.tested_deps
        untested = self.untested_words
        pos_at, morph_at, lemma_at = _ROW.pos, _ROW.morph, _ROW.lemma
        for row in rows:
            lower, tag, dep = row[lower_at], row[tag_at], row[dep_at]
            if lower not in untested and lower not in tested_words:
                word = doc.vocab.strings[lower]
                if any(pattern.search(word) for pattern in self.word_patterns):
                    tested_words.add(lower)
                else:
                    untested.add(lower)
            key = (
                lower if lower in tested_words else -1,
                tag,
                dep if dep in tested_deps else -1,
            )
            found = memo.get(key)
            if found is None:
                found = memo[key] = self._rule(doc, key)
            row[pos_at], row[morph_at], row[lemma_at] = found
        return True

    def missing_lemma(self, doc: Doc, rows: list[list[int]], i: int) -> str:
        """The lemma of token ``i`` whose (word, POS, morphology) the memo has not seen: the
        lemmatizer reads them from the Doc, so attributes kept only in ``rows`` are written in
        first (once per Doc)."""
        if not doc.has_annotation("POS"):
            _write_attributes(doc, rows)
        row = rows[i]
        return self.lemma(doc, i, (row[_ROW.orth], row[_ROW.pos], row[_ROW.morph]))

    def annotate(self, doc: Doc) -> None:
        """Write the attribute ruler's POS, morphology and lemmas into a Doc parsed without it."""
        rows: list[list[int]] = doc.to_array(_attrs()).tolist()
        if self.annotate_rows(doc, rows):
            _write_attributes(doc, rows)

    def _rule(self, doc: Doc, key: tuple[int, int, int]) -> tuple[int, ...]:
        """What the ruler writes for a token with this key: its single-token patterns read
        nothing else, so a one-token Doc with the same word, tag and dependency shows it
        (before the ruler, such a token has no POS, morphology or lemma, as in the Doc)."""
        from spacy.attrs import LEMMA, MORPH, POS
        from spacy.tokens import Doc as SpacyDoc

        strings = doc.vocab.strings
        lower, tag, dep = key
        # -1: a word or label no pattern names, standing for every such one.
        word = strings[lower] if lower >= 0 else "finsta"
        label = strings[dep] if dep >= 0 else "dep"
        token = SpacyDoc(doc.vocab, words=[word], tags=[strings[tag]], deps=[label], heads=[0])
        self.ruler(token)
        return tuple(token.to_array([POS, MORPH, LEMMA]).tolist()[0])


def _pattern_values(value: Any) -> list[str] | None:
    """The strings an attribute ruler token pattern compares a token attribute with (none for
    an absent attribute); None when it tests it otherwise (a regular expression)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and set(value) <= {"IN", "NOT_IN"}:
        found = [item for items in value.values() for item in items]
        return found if all(isinstance(item, str) for item in found) else None
    return None


class _Columns:
    """Where each attribute sits in a row of :func:`copy_tokens`' ``Doc.to_array`` call."""

    lower, lemma, pos, tag, dep, head, idx, length, is_punct, orth, morph, is_space = range(12)


_ROW = _Columns()


def _attrs() -> list[int | str]:
    """The attribute ids of :func:`copy_tokens`' rows (:data:`_ROW`); imports spaCy once."""
    if not _ATTRS:
        from spacy.attrs import (
            DEP,
            HEAD,
            IDX,
            IS_PUNCT,
            IS_SPACE,
            LEMMA,
            LENGTH,
            LOWER,
            MORPH,
            ORTH,
            POS,
            TAG,
        )

        _ATTRS.extend(
            [LOWER, LEMMA, POS, TAG, DEP, HEAD, IDX, LENGTH, IS_PUNCT, ORTH, MORPH, IS_SPACE]
        )
    return _ATTRS


def _write_attributes(doc: Doc, rows: list[list[int]]) -> None:
    """The POS, morphology and lemma columns of ``rows`` written into the Doc."""
    import numpy
    from spacy.attrs import LEMMA, MORPH, POS

    columns = [[row[_ROW.pos], row[_ROW.morph], row[_ROW.lemma]] for row in rows]
    array: Any = numpy.array(columns, dtype="uint64")
    doc.from_array([POS, MORPH, LEMMA], array)


def _new_tokens(rows: list[list[int]], text: str) -> list[Tok]:
    known = _STRINGS
    return [
        Tok(i, text[row[6] : row[6] + row[7]], row[6], known[row[0]], known[row[1]],
             known[row[2]], known[row[3]], known[row[4]])
        for i, row in enumerate(rows)
    ]  # fmt: skip


def copy_tokens(doc: Doc, text: str, lemmas: LemmaCache | None = None) -> list[Tok]:
    """The Doc's tokens as :class:`Tok`, read in one ``to_array`` call.

    With ``lemmas``, tokens without a lemma (the Doc came from a pipeline run without its
    lemmatizer) get theirs from the cache, and a Doc parsed without the attribute ruler gets
    its attributes from it first (``LemmaCache(nlp, attribute_ruler=True)``), in the rows read
    here: the Doc itself is written to only when a lemma is new to the cache.
    """
    attrs = _attrs()
    if not len(doc):
        return []
    rows: list[list[int]] = doc.to_array(attrs if lemmas is not None else attrs[:9]).tolist()
    if (
        lemmas is not None
        and lemmas.ruler is not None
        and not any(row[2] for row in rows)  # no POS: parsed without the ruler
        and not lemmas.annotate_rows(doc, rows)
    ):
        rows = doc.to_array(attrs).tolist()  # the ruler ran on the Doc itself
    try:
        tokens = _new_tokens(rows, text)
    except KeyError:  # strings not seen before: look them up once
        strings = doc.vocab.strings
        known = _STRINGS
        known.update((key, strings[key]) for row in rows for key in row[:5] if key not in known)
        tokens = _new_tokens(rows, text)
    memo = lemmas.memo if lemmas is not None else None
    for token, row in zip(tokens, rows, strict=True):
        head = row[5]  # HEAD: an offset, wrapped to unsigned
        token.head = tokens[token.i + (head - _WRAP if head >= _WRAP >> 1 else head)]
        if row[8]:
            token.is_punct = True
        if memo is not None and not row[1]:
            lemma = memo.get((row[9], row[2], row[10]))
            if lemma is None:
                assert lemmas is not None
                lemma = lemmas.missing_lemma(doc, rows, token.i)
            token.lemma_ = lemma
    return tokens


def children_of(tokens: list[Tok], head: Tok) -> list[Tok]:
    return [t for t in tokens if t.head is head and t is not head]


def is_nominal(
    token: Tok, kids: list[Tok] | None = None, nouns: frozenset[str] = frozenset()
) -> bool:
    """Whether a token heads a noun phrase, mending the small model's tags on fragments.

    Region captions are mostly noun phrases, which spaCy's small model often tags as verbs or
    adjectives ("building with black windows", "white frosting", "towel warmer"); a word that
    FACTUAL's train split names as an object is read as a noun when it sits where a noun
    belongs (an argument, or a subject-less root).
    """
    if _ALNUM.search(token.text) is None:
        return False
    if token.pos_ in ("NOUN", "PROPN") or token.lower_ in INDEFINITE_PEOPLE:
        return True
    if token.verb:
        return False
    if token.pos_ == "NUM":
        return token.dep_ in ARGUMENT_DEPS
    if token.pos_ == "ADJ" and token.dep_ == "dobj" and token.head.pos_ == "VERB":
        return True  # "opens a present", "discusses spongebob": a verb's object is a thing
    if token.lower_ not in nouns or token.pos_ not in ("VERB", "ADJ", "ADV", "ADP"):
        return False
    if token.dep_ == "conj":  # "books and objects": a conjunct of a noun is a noun
        return token.head.pos_ in ("NOUN", "PROPN")
    if token.dep_ in ARGUMENT_DEPS:
        return True
    if token.dep_ == "ROOT":
        return not any(c.dep_ in ("nsubj", "nsubjpass", "aux", "auxpass") for c in kids or [])
    return False


def take_place(tokens: list[Tok], token: Tok, other: Tok, before: int | None = None) -> None:
    """``token`` takes ``other``'s place in the tree; ``other``'s dependents move to it (with
    ``before``, only those in front of that position)."""
    root = other.head is other
    token.dep_ = other.dep_
    token.head = token if root else other.head
    for child in children_of(tokens, other):
        if child is not token and (before is None or child.i < before):
            child.head = token
