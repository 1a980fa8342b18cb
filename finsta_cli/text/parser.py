"""The rule-based textual scene graph parser: spaCy dependency parses -> :class:`TSG` records.

``parse_texts(texts)`` runs spaCy's ``nlp.pipe`` (tagger, parser, lemmatizer; no NER) in batches
and turns each parse into a TSG (DESIGN §1):

- objects: nouns and proper nouns (not pronouns: "it" / "they" are resolved to the nearest
  earlier object of the same number; "who" / "that" to the noun a relative clause modifies);
  quantity nouns ("a bunch of birds") give way to what they count;
- attributes: adjectives (with their adverbs: "partly cloudy"), numbers ("two" -> 2),
  predicate adjectives ("the car is red"), and noun compounds where FACTUAL's conventions make
  them attributes ("brick wall"); other compounds are merged into the name ("coffee table") or
  become an object that has the head ("clock face" -> clock have face);
- predicates: verbs with agent / patient / prepositional-argument edges (passives with a "by"
  agent reversed, phrasal verbs "pick up", intransitive verbs kept), prepositions between nouns
  ("cup on the table"), multi-word prepositions ("in front of", "next to", "on top of"),
  possession ("man's face" -> man have face);
- predicate attributes: adverbs of a verb ("quickly", "again");
- conjunctions expanded over subjects, objects, verbs and adjectives;
- temporal order of predicates: ``before`` (clause order, "then", "after", "before") and
  ``overlaps`` ("while", "as", participles of the same subject).

Every node keeps its character span in the caption.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from finsta_cli.io.progress import get_logger
from finsta_cli.schema import TSG
from finsta_cli.text.conventions import Conventions, load_conventions

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

log = get_logger("text.parser")

# The components the rules read: POS tags, dependencies, lemmas. NER is never needed.
SPACY_EXCLUDE: tuple[str, ...] = ("ner", "senter", "textcat", "entity_ruler")
MAX_CHARS_DEFAULT = 10_000

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "both": 2, "pair": 2, "couple": 2,
}  # fmt: skip
# Nouns that mean a place relative to another object ("in front of", "on the side of").
RELATIONAL_NOUNS = frozenset({
    "front", "top", "side", "back", "middle", "edge", "corner", "bottom", "center", "centre",
    "left", "right", "rear", "end", "part", "surface", "inside", "outside", "underside", "base",
    "tip", "face",
})  # fmt: skip
# Place nouns that FACTUAL leaves out when they stand alone: "windows on the front".
BARE_PLACE_NOUNS = frozenset({
    "front", "back", "left", "right", "top", "bottom", "side", "middle", "center", "centre",
    "rear",
})  # fmt: skip
SHADES = frozenset({
    "dark", "light", "bright", "pale", "deep", "navy", "pastel", "neon",
})  # fmt: skip
EXPLETIVES = frozenset({
    "this", "that", "these", "those", "there", "here", "it", "what", "which", "something",
})  # fmt: skip
# Modifiers that say how many or which, not what the object looks like: FACTUAL's "drop"
# decisions for these are followed; every other word it drops ("snowy hill") stays a scene word.
NON_SCENE_MODIFIERS = frozenset({
    "other", "same", "different", "several", "many", "few", "more", "most", "numerous",
    "multiple", "various", "entire", "whole", "single", "separate", "certain", "such", "own",
    "next", "last", "additional", "another", "each", "every", "both", "all", "some", "any",
})  # fmt: skip
# Indefinite people: FACTUAL names "someone" a person.
INDEFINITE_PEOPLE = frozenset({"someone", "somebody"})
SUBJECT_DEPS = frozenset({"nsubj", "csubj", "expl"})
OBJECT_DEPS = frozenset({"dobj", "obj", "dative", "oprd"})
# Adverbs that order clauses or negate rather than describe the action.
NON_MANNER_ADVERBS = frozenset({
    "then", "also", "too", "not", "n't", "there", "here", "when", "where", "while", "how", "why",
    "just", "now", "so", "as", "very",
})  # fmt: skip
PERSON_NOUNS = frozenset({
    "man", "woman", "boy", "girl", "person", "child", "kid", "guy", "lady", "gentleman", "player",
    "skier", "surfer", "skateboarder", "snowboarder", "rider", "worker", "chef", "cook", "officer",
    "policeman", "baby", "toddler", "teenager", "adult", "someone", "mother", "father", "son",
    "daughter", "brother", "sister", "husband", "wife", "friend", "people", "men", "women",
})  # fmt: skip
PERSON_PRONOUNS = {"he": "man", "him": "man", "she": "woman", "her": "woman"}
PATH_PREPOSITIONS = frozenset({
    "down", "across", "through", "along", "into", "onto", "toward", "towards", "to", "from",
    "up", "past", "around", "out", "off", "via",
})  # fmt: skip
# Words in front of a clause that put it after the clause before it ("A, then B", "A. Next, B").
SEQUENCERS = frozenset({
    "then", "afterwards", "afterward", "later", "next", "subsequently", "thereafter", "finally",
    "eventually",
})  # fmt: skip
# Conjunctions in front of a clause: how it relates to the clause it depends on.
SUBORDINATORS: dict[str, str] = {
    "after": "after", "once": "after", "before": "before", "until": "before", "till": "before",
    "while": "overlaps", "whilst": "overlaps", "as": "overlaps", "when": "overlaps",
    "meanwhile": "overlaps",
}  # fmt: skip
BEFORE_AFTER = ("after", "before")
# Dependents that open a verb's clause in front of it (its subject, auxiliaries, negation).
CLAUSE_OPENING_DEPS = frozenset({
    "nsubj", "nsubjpass", "csubj", "expl", "aux", "auxpass", "neg",
})  # fmt: skip
# Words that give a motion its direction: kept as pred_attr nodes of the verb whatever their tag
# ("moves right": the small model tags "right" as an adjective, "left" even as a verb).
DIRECTION_WORDS = frozenset({
    "left", "right", "up", "down", "away", "back", "forward", "forwards", "backward",
    "backwards", "upward", "upwards", "downward", "downwards", "leftward", "leftwards",
    "rightward", "rightwards", "sideways", "around",
})  # fmt: skip
# Basic colour terms: as a compound modifier ("cyan cone", "orange ball") they are attributes,
# not part of the name, unless the conventions decide otherwise for that word or pair.
COLOUR_WORDS = frozenset({
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "gray", "grey", "cyan", "magenta", "violet", "indigo", "turquoise", "teal", "maroon",
    "beige", "tan", "gold", "golden", "silver", "navy", "lime", "olive", "crimson",
})  # fmt: skip
# Prepositions that, right after a plural-looking noun, show it is a verb of motion
# ("the cube heads for the ball", "the ring leaves to the left").
MOTION_PREPOSITIONS = frozenset({
    "to", "toward", "towards", "from", "for", "into", "onto", "across", "through", "past",
    "behind", "away", "off", "out",
})  # fmt: skip
DIRECTION_SIDES = frozenset({"left", "right", "top", "bottom"})
# Prepositions that put a side after a verb of motion: "to the left", "exits on the right".
SIDE_PREPOSITIONS = frozenset({
    "to", "toward", "towards", "from", "on", "at", "into", "onto", "off",
})  # fmt: skip
# Of those, the ones that move a side phrase from a verb's object to the verb ("moves out of
# view to the right"); "on the left" after a noun stays with the noun ("a man on the left").
MOTION_SIDE_PREPOSITIONS = frozenset({"to", "toward", "towards", "into", "onto"})
CLAUSE_PREPOSITIONS = frozenset({"after", "before", "until", "while", "as", "since"})
# Verb lemmas of the loaded spaCy pipelines' lemmatizer tables (filled by load_nlp).
_VERB_LEMMAS: set[str] = set()
OVERLAP_MARKERS = frozenset({"while", "as", "when", "during", "meanwhile"})
# What a thing has that a video caption talks about ("the features of a phone"): objects of
# their own, had by the noun after "of" (FACTUAL's default drops them).
ASPECT_NOUNS = frozenset({
    "features", "feature", "details", "specs", "specifications", "benefits", "rules", "steps",
    "price", "design", "engine", "performance", "functions",
})  # fmt: skip
# Tools: "with" one of them after a verb's object is the action's ("slices an onion with a
# knife"), except after verbs of having or showing ("holding a cup with a spoon").
INSTRUMENT_NOUNS = frozenset({
    "knife", "scissors", "spoon", "fork", "brush", "hammer", "stick", "bat", "racket", "racquet",
    "towel", "sponge", "pen", "pencil", "spatula", "saw", "needle", "tool", "tools", "hand",
    "hands", "finger", "fingers", "drill", "screwdriver", "whisk", "cloth", "rag", "camera",
    "chopsticks", "ladle", "tongs", "paddle", "club", "shovel", "axe", "sword", "rope", "foot",
    "feet", "mouth", "teeth", "marker", "crayon", "blade", "iron", "roller", "cutter", "peeler",
})  # fmt: skip
# Who one does something with ("a man playing frisbee with his dog": FACTUAL man play with dog).
COMPANION_NOUNS = PERSON_NOUNS | {
    "team",
    "friends",
    "family",
    "partner",
    "kids",
    "children",
    "dog",
    "others",
    "girlfriend",
    "boyfriend",
    "mom",
    "dad",
    "parents",
    "teammates",
    "opponent",
    "crowd",
    "group",
}
NON_INSTRUMENT_VERBS = frozenset({
    "hold", "carry", "have", "wear", "show", "see", "watch", "look", "stand", "sit", "fill",
    "decorate", "cover", "serve", "sell", "buy", "give", "bring", "display", "find", "meet",
})  # fmt: skip
# Places "by" names beside a passive ("interviewed by a beach", "parked by the river"), unless
# the verb is one places do ("surrounded by the sea").
BY_PLACES = frozenset({
    "beach", "river", "lake", "pool", "window", "door", "road", "sea", "ocean", "shore",
    "fireplace", "roadside", "street", "bridge",
})  # fmt: skip
PLACE_VERBS = frozenset({
    "surround", "cover", "border", "line", "block", "shade", "light", "fill", "frame", "flank",
    "wash", "reflect", "hide", "separate", "enclose",
})  # fmt: skip
# Nouns of what a video shows ("a video of a car", "footage of the storm", "the history of
# motion pictures"): an object of their own, related to what they show by "of", when FACTUAL's
# train split has no reading of "X of Y" for them (its default drops X).
MEDIA_NOUNS = frozenset({
    "video", "videos", "footage", "clip", "clips", "picture", "pictures", "photo", "photos",
    "photograph", "photographs", "compilation", "montage", "slideshow", "trailer", "documentary",
    "history", "recording", "film", "films", "movie", "movies", "series", "story", "review",
    "demonstration", "tutorial", "interview", "highlights", "commercial", "advertisement",
    "segment", "report", "presentation", "animation", "cartoon", "song", "music", "episode",
    "news", "mashup", "medley", "collage", "gameplay",
})  # fmt: skip


_ALNUM = re.compile(r"[^\W_]")


class _Tok:
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
        self.verb = False  # re-read as a verb by _repair_verbs: never read back as a noun
        self.head: _Tok = self

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

    def annotate(self, doc: Doc) -> None:
        """Write the attribute ruler's POS, morphology and lemmas into a Doc parsed without it."""
        import numpy
        from spacy.attrs import DEP, IS_SPACE, LEMMA, LOWER, MORPH, POS, TAG

        rows = doc.to_array([LOWER, TAG, DEP, IS_SPACE]).tolist()
        memo = self.attributes
        words, deps = self.trigger_words, self.trigger_deps
        if any(space or lower in words or dep in deps for lower, _, dep, space in rows):
            self.ruler(doc)  # a pattern may read the neighbours: no memo from this Doc
            return
        tested_words, tested_deps = self.tested_words, self.tested_deps
        untested = self.untested_words
        values = []
        for lower, tag, dep, _ in rows:
            if lower not in untested and lower not in tested_words:
                word = doc.vocab.strings[lower]
                if any(pattern.search(word) for pattern in self.word_patterns):
                    tested_words.add(lower)
                else:
                    untested.add(lower)
            key = (lower if lower in tested_words else -1, tag, dep if dep in tested_deps else -1)
            found = memo.get(key)
            if found is None:
                found = memo[key] = self._rule(doc, key)
            values.append(found)
        array: Any = numpy.array(values, dtype="uint64")
        doc.from_array([POS, MORPH, LEMMA], array)

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


def _copy_tokens(doc: Doc, text: str, lemmas: LemmaCache | None = None) -> list[_Tok]:
    """The Doc's tokens as :class:`_Tok`, read in one ``to_array`` call.

    With ``lemmas``, tokens without a lemma (the Doc came from a pipeline run without its
    lemmatizer) get theirs from the cache, and a Doc parsed without the attribute ruler gets
    its attributes from it first (``LemmaCache(nlp, attribute_ruler=True)``).
    """
    if not _ATTRS:
        from spacy.attrs import (
            DEP,
            HEAD,
            IDX,
            IS_PUNCT,
            LEMMA,
            LENGTH,
            LOWER,
            MORPH,
            ORTH,
            POS,
            TAG,
        )

        _ATTRS.extend([LOWER, LEMMA, POS, TAG, DEP, HEAD, IDX, LENGTH, IS_PUNCT, ORTH, MORPH])
    if not len(doc):
        return []
    if lemmas is not None and lemmas.ruler is not None and not doc.has_annotation("POS"):
        lemmas.annotate(doc)
    rows = doc.to_array(_ATTRS if lemmas is not None else _ATTRS[:9]).tolist()
    known = _STRINGS
    try:
        tokens = [
            _Tok(i, text[row[6] : row[6] + row[7]], row[6], known[row[0]], known[row[1]],
                 known[row[2]], known[row[3]], known[row[4]])
            for i, row in enumerate(rows)
        ]  # fmt: skip
    except KeyError:  # strings not seen before: look them up once
        strings = doc.vocab.strings
        known.update((key, strings[key]) for row in rows for key in row[:5] if key not in known)
        return _copy_tokens(doc, text, lemmas)
    for token, row in zip(tokens, rows, strict=True):
        head = row[5]  # HEAD: an offset, wrapped to unsigned
        token.head = tokens[token.i + (head - _WRAP if head >= _WRAP >> 1 else head)]
        if row[8]:
            token.is_punct = True
        if lemmas is not None and not row[1]:
            token.lemma_ = lemmas.lemma(doc, token.i, (row[9], row[2], row[10]))
    return tokens


ARGUMENT_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "conj", "appos"})
NOUN_MODIFIER_DEPS = frozenset({"det", "amod", "compound", "nummod", "poss", "predet"})


def _children(tokens: list[_Tok], head: _Tok) -> list[_Tok]:
    return [t for t in tokens if t.head is head and t is not head]


def _verb_evidence(token: _Tok, tokens: list[_Tok], nouns: frozenset[str]) -> bool:
    """Whether a plural-looking noun after a singular noun is the sentence's verb.

    Structure says so when it has a subject, a particle, an object or a clause marker of its
    own, when the word it is the subject of is a direction ("moves left": "left" read as a
    verb), or when it follows a verb's "after" / "before" / "while". Otherwise
    the word must not be one FACTUAL's train split names as an object, or, when it is ("heads",
    "leaves"), be followed by a direction or a preposition of motion ("heads for the ball").
    """
    kids = _children(tokens, token)
    if any(c.dep_ in ("nsubj", "prt", "dobj", "mark") for c in kids):
        return True  # a subject, particle, object or clause marker ("while the cone crosses")
    if any(c.dep_ == "conj" and c.pos_ in ("VERB", "AUX") for c in kids):
        return True  # a clause joined to it: "the cube crosses ... and then the ring moves"
    if any(
        c.dep_ == "prep"
        and c.lower_ in CLAUSE_PREPOSITIONS
        and any(g.head is c and g.pos_ == "VERB" for g in tokens)
        for c in kids
    ):
        return True  # "the cube crosses ... before the ring moves"
    if any(c.dep_ == "advcl" and c.pos_ == "VERB" for c in kids):
        return True  # "Before the cylinder enters ..., the star crosses in front of the ball"
    if token.dep_ in ("dep", "ccomp") and token.head.pos_ == "VERB":
        return True  # a clause hung on the next one: "First the ring crosses ...; after that"
    if token.dep_ == "nsubj" and any(
        c.dep_ == "nsubj" and c.i > token.i for c in _children(tokens, token.head)
    ):
        return True  # the subject of a verb that has its own: a clause of its own
    if token.dep_ == "nsubj" and token.head.lower_ in DIRECTION_WORDS:
        return True
    head = token.head
    if token.dep_ == "pobj" and head.lower_ in CLAUSE_PREPOSITIONS and head.head.pos_ == "VERB":
        return True  # "enters after the cone crosses ...": a clause after a verb
    if token.dep_ == "dobj" and token.head.pos_ == "VERB" and not any(c.i > token.i for c in kids):
        return False  # "wearing bikini dresses": a verb's object with nothing after it
    if token.lower_ not in nouns:
        return True
    following = tokens[token.i + 1] if token.i + 1 < len(tokens) else None
    return following is not None and (
        following.lower_ in DIRECTION_WORDS
        or (following.lower_ in MOTION_PREPOSITIONS and following.head is token)
    )


def _repair_verbs(tokens: list[_Tok], nouns: frozenset[str]) -> None:
    """Re-read verbs that spaCy's small model tagged as plural nouns, in place.

    "The cube slides to the right" is often tagged with "cube slides" as one compound noun (or
    "slides" a noun with "cube" its subject), leaving the sentence without a predicate. A
    token is re-read as the verb when it is tagged a plural noun (or is a verb with a compound
    noun in front of it), follows a singular noun that depends on it, its lemma is a verb in
    the lemmatizer's lexicon, and :func:`_verb_evidence` holds. The noun before it becomes its
    subject and takes the determiner and modifiers, a direction word it was attached to
    ("moves left" read as "moves" the subject of "left") becomes its adverb, and a clause
    preposition governing it ("after the cube moves") becomes its marker.
    """
    verbs = _VERB_LEMMAS
    for token in tokens:
        if token.dep_ == "nsubj" and token.head is not token and token.head.pos_ == "VERB":
            # "The pink cone stays": a determiner or adjective hung on the verb before its
            # subject belongs to the subject.
            for child in _children(tokens, token.head):
                if child.i < token.i and child.dep_ in ("det", "amod", "nummod", "predet"):
                    child.head = token
    # Two passes: a verb re-read in the first may be the evidence for one before it ("the star
    # crosses ...; after that, the cylinder moves right", "moves" re-read from a noun).
    for _ in range(2):
        for token in tokens:
            if token.verb or token.i == 0 or not token.lower_.endswith("s"):
                continue
            subject = tokens[token.i - 1]
            if subject.head is not token or subject.pos_ not in ("NOUN", "PROPN"):
                continue
            if subject.tag_ not in ("NN", "NNP") or subject.dep_ not in ("compound", "nsubj"):
                continue
            if token.pos_ in ("VERB", "AUX"):
                # Already a verb, but "cone" left a compound of it: make it the subject.
                if token.tag_ != "VBZ" or subject.dep_ != "compound":
                    continue
                if any(c.dep_ in ("nsubj", "nsubjpass") for c in _children(tokens, token)):
                    continue
                lemma = token.lemma_
            else:
                if token.pos_ not in ("NOUN", "PROPN") or token.tag_ not in ("NNS", "NNPS"):
                    continue
                lemma = token.lemma_.lower()
                if lemma not in verbs or not _verb_evidence(token, tokens, nouns):
                    continue
            _reread_as_verb(tokens, token, subject, lemma)
    _repair_gerunds(tokens, nouns)
    for token in tokens:
        _subject_from_preposition(tokens, token)
        _split_clauses(tokens, token)
    for token in tokens:
        _plural_subject_verb(tokens, token, verbs)
    for token in tokens:
        _verb_read_as_conjoined_object(tokens, token, nouns)
    _repair_clauses(tokens, nouns)
    for token in tokens:
        if token.pos_ == "VERB" and token.i + 1 < len(tokens):
            _attach_direction(tokens, token)
        elif token.lower_ in DIRECTION_SIDES and token.dep_ == "pobj":
            _attach_side(token)


FINITE_TAGS = frozenset({"VBZ", "VBP", "VBD"})
# Nouns an -ing word in front of names a kind of ("swimming pool", "cooking show"): the -ing
# word there is no action of the caption.
GERUND_MODIFIED_NOUNS = frozenset({
    "pool", "show", "match", "lot", "board", "class", "lesson", "competition", "contest",
    "event", "events", "game", "session", "room", "area", "suit", "machine", "pot", "pan",
    "equipment", "gear", "table", "ring", "video", "channel", "program", "tutorial",
    "demonstration", "station", "track", "field", "court", "shoes", "boots", "scene", "clip",
    "device", "recipe", "meet", "team", "stick", "utensils", "bag", "spot", "trip", "tour",
})  # fmt: skip
# Words that make one action with the -ing word after them ("arm wrestling", "ice skating").
INCORPORATED_OBJECTS = frozenset({
    "arm", "ice", "rock", "sky", "snow", "water", "finger", "face", "body", "kite", "wind",
    "roller", "speed", "figure", "tap", "break", "belly", "pole", "bungee", "scuba",
    "horse", "sword", "video", "bull", "cliff", "street", "mountain", "barrel", "fly",
    "ballroom", "salsa", "hula", "jet", "wake", "weight", "power", "fist", "pillow", "swing",
})  # fmt: skip
NOT_GERUNDS = frozenset({"being", "thing", "nothing", "anything", "everything", "something"})


def _gerund_lemma(token: _Tok, nouns: frozenset[str]) -> str | None:
    """The verb of an -ing word the small model tagged a noun ("dancing", "wrestling"), or
    None when the word is also a name of things (FACTUAL's nouns: "building", "painting")."""
    word = token.lower_
    if not word.endswith("ing") or len(word) < 6 or word in nouns or word in NOT_GERUNDS:
        return None
    if token.tag_ not in ("NN", "NNP") or token.verb:
        return None
    stem = word[:-3]
    for lemma in (stem, stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else "", stem + "e"):
        if lemma and lemma in _VERB_LEMMAS:
            return lemma
    return None


def _as_gerund_verb(verb: _Tok, lemma: str) -> None:
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBG", lemma, False, True


def _repair_gerunds(tokens: list[_Tok], nouns: frozenset[str]) -> None:
    """Actions the small model read as nouns, re-read as verbs.

    - an action label in front of its object ("poking frog", "brushing teeth") or with its
      object word in front ("arm wrestling", "ice skating": one verb, "arm wrestle");
    - an -ing word after a noun it was read as the head of ("a boy in a red shirt singing":
      "shirt" is the object, "singing" the boy's action);
    - a person doing something to a thing read as one compound ("a lady cutting onions");
    - an -ing word conjoined to a noun ("playing guitar and singing a song", "a girl with a
      hat on and dancing"): a verb joined to the verb before it, or to the noun it describes.
    """
    for token in tokens:
        lemma = _gerund_lemma(token, nouns) if token.dep_ != "conj" else None
        if (
            lemma is None
            and token.tag_ == "VBG"
            and token.dep_ == "compound"
            and token.lower_ not in nouns
            and token.i > 0
            and tokens[token.i - 1].lemma_.lower() in PERSON_NOUNS
        ):
            lemma = token.lemma_.lower()  # "footage of someone playing minecraft"
        if lemma is None:
            continue
        kids = _children(tokens, token)
        before = tokens[token.i - 1] if token.i > 0 else None
        if (
            token.dep_ == "compound"
            and token.head.i == token.i + 1
            and token.head.pos_ in ("NOUN", "PROPN")
            and token.head.lower_ not in GERUND_MODIFIED_NOUNS
        ):
            noun = token.head
            if before is not None and before.dep_ == "compound" and before.head in (noun, token):
                if before.lemma_.lower() not in PERSON_NOUNS:
                    continue
                # "a lady cutting onions": the lady does the cutting to the onions.
                _take_place(tokens, before, noun, before=before.i)
                _as_gerund_verb(token, lemma)
                token.dep_, token.head = "acl", before
                noun.dep_, noun.head = "dobj", token
            elif token.i == 0 and noun.dep_ == "ROOT" and not _has_verb(tokens):
                # "Poking frog": an action label.
                _take_place(tokens, token, noun, before=token.i)
                _as_gerund_verb(token, lemma)
                noun.dep_, noun.head = "dobj", token
            continue
        compound = next(
            (c for c in kids if c.dep_ == "compound" and c.i == token.i - 1 and c.pos_ == "NOUN"),
            None,
        )
        if compound is None or token.dep_ not in ("ROOT", "attr", "pobj", "dobj", "appos"):
            continue
        if any(c.dep_ in ("det", "amod", "poss", "nummod") and c.i < compound.i for c in kids):
            # "in a red shirt singing": the compound is the object, the -ing word an action of
            # the noun the phrase describes.
            owner = token.head
            while owner.pos_ not in ("NOUN", "PROPN") and owner.head is not owner:
                owner = owner.head
            if owner.pos_ not in ("NOUN", "PROPN") or owner is token:
                continue
            _take_place(tokens, compound, token)
            _as_gerund_verb(token, lemma)
            token.dep_, token.head = "acl", owner
            for child in kids:
                if child.i > token.i and child.dep_ == "conj":
                    child.head = token  # "singing and dancing"
        elif (
            token.dep_ == "attr"
            and token.head.lemma_ == "be"
            and any(c.dep_ == "expl" for c in _children(tokens, token.head))
        ):
            # "there is a man dancing": the man is the one dancing.
            _as_gerund_verb(token, lemma)
            compound.dep_ = "nsubj"
        elif (token.dep_ == "attr" and token.head.lemma_ == "be") or (
            token.dep_ == "ROOT" and compound.lower_ in INCORPORATED_OBJECTS
        ):
            # "two boys are arm wrestling", "Arm wrestling": one action of two words.
            _as_gerund_verb(token, f"{compound.lower_} {lemma}")
            head = token.head
            if token.dep_ == "attr":
                _take_place(tokens, token, head)
                head.dep_, head.pos_, head.head = "aux", "AUX", token
        elif token.dep_ == "ROOT":
            # "zebra grazing on grass": a subject and its action.
            _as_gerund_verb(token, lemma)
            compound.dep_ = "nsubj"
    for token in tokens:
        lemma = _gerund_lemma(token, nouns) if token.dep_ == "conj" else None
        if lemma is None or token.head.verb or token.head.pos_ == "VERB":
            if lemma is not None:
                _as_gerund_verb(token, lemma)  # "laughing and dancing"
            continue
        earlier = [t for t in tokens[: token.i] if t.pos_ == "VERB" and t.tag_.startswith("VB")]
        _as_gerund_verb(token, lemma)
        if earlier:
            governor = earlier[-1]
            token.head, token.dep_ = governor, "conj"
            for child in _children(tokens, governor):
                if child.i > token.i and child.dep_ in ("dobj", "prep"):
                    child.head = token  # "... and singing song": the song is sung
        else:
            owner = token.head
            while owner.dep_ not in ("ROOT", "nsubj") and owner.head is not owner:
                owner = owner.head
            if owner.pos_ in ("NOUN", "PROPN"):
                token.head, token.dep_ = owner, "acl"  # "a girl with a hat on and dancing"


def _has_verb(tokens: list[_Tok]) -> bool:
    return any(t.pos_ in ("VERB", "AUX") for t in tokens)


def _split_clauses(tokens: list[_Tok], verb: _Tok) -> None:
    """Two clauses the small model read as one, made two conjoined clauses again.

    "a man talks to the camera then shows a phone": the first verb read as the subject of the
    second; "a boy throws a ball and a dog chases it": the second verb read as a conjunct of
    the first one's object, its own object left on the first verb. The second clause becomes a
    conjunct of the first verb and takes the words after it.
    """
    if verb.pos_ != "VERB" or verb.tag_ not in FINITE_TAGS:
        return
    head = verb.head
    if verb.dep_ in ("nsubj", "csubj") and head.pos_ == "VERB" and head.i > verb.i:
        _take_place(tokens, verb, head, before=verb.i)
        head.dep_, head.head = "conj", verb
    elif verb.dep_ == "conj" and head.pos_ in ("NOUN", "PROPN") and head.dep_ in ("dobj", "pobj"):
        governor = head.head
        while governor.pos_ not in ("VERB", "AUX") and governor.head is not governor:
            governor = governor.head
        if governor.pos_ not in ("VERB", "AUX") or governor.i > verb.i:
            return
        verb.head = governor
        for child in _children(tokens, governor):
            if child.i > verb.i and child.dep_ in ("dobj", "prep", "advmod", "prt", "dative"):
                child.head = verb  # "... and a dog chases it": "it" is the dog's


def _plural_subject_verb(tokens: list[_Tok], verb: _Tok, verbs: set[str]) -> None:
    """ "two girls dance while singing": a verb after a plural subject tagged as the head noun
    of "girls dance". Re-read as the verb when its word is a verb lemma and its own
    dependents say so (an object, a particle, a clause marker or a clause of its own)."""
    if verb.i == 0 or verb.tag_ != "NN" or verb.lower_ not in verbs:
        return
    subject = tokens[verb.i - 1]
    if subject.head is not verb or subject.tag_ not in ("NNS", "NNPS"):
        return
    if subject.dep_ not in ("compound", "nsubj"):
        return
    kids = _children(tokens, verb)
    if not any(
        c.dep_ in ("dobj", "prt", "mark")
        or (c.dep_ in ("advcl", "conj") and c.pos_ == "VERB")
        or (c.dep_ == "prep" and c.lower_ in MOTION_PREPOSITIONS)
        for c in kids
    ):
        return
    _reread_as_verb(tokens, verb, subject, verb.lower_)
    verb.tag_ = "VBP"


def _verb_read_as_conjoined_object(tokens: list[_Tok], verb: _Tok, nouns: frozenset[str]) -> None:
    """ "a guy plays a video game and talks about it": "talks" read as a plural noun joined to
    the object ("a game and talks"). After "and", with a phrase or object of its own, a word
    whose lemma is a verb and that FACTUAL does not name as a thing is the verb joined to the
    verb before, in the same form ("plays ... and talks")."""
    if verb.tag_ != "NNS" or verb.dep_ != "conj" or verb.lower_ in nouns or verb.i < 2:
        return
    lemma = verb.lemma_.lower()
    if lemma not in _VERB_LEMMAS or tokens[verb.i - 1].lower_ != "and":
        return
    kids = _children(tokens, verb)
    if not any(c.dep_ in ("prep", "dobj") and c.i > verb.i for c in kids):
        return
    if any(c.i < verb.i and c.dep_ in ("det", "amod", "compound", "nummod", "poss") for c in kids):
        return  # "a game and new toys": a noun phrase of its own
    governor = verb.head
    while governor.pos_ not in ("VERB", "AUX") and governor.head is not governor:
        governor = governor.head
    if governor.tag_ != "VBZ" or governor.i > verb.i:
        return
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBZ", lemma, False, True
    verb.head = governor


def _subject_from_preposition(tokens: list[_Tok], verb: _Tok) -> None:
    """ "the ring travels down after the cylinder comes in": the small model reads "after the
    cylinder" as a phrase of the first verb and leaves "comes" a clause without a subject.
    A finite verb with no subject right after the object of a clause preposition takes that
    object as its subject, and the preposition marks its clause."""
    if verb.pos_ != "VERB" or verb.tag_ not in ("VBZ", "VBP", "VBD") or verb.i == 0:
        return
    if any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in _children(tokens, verb)):
        return
    noun = tokens[verb.i - 1]
    while noun.dep_ == "pobj" and noun.head.lower_ == "of" and noun.head.head.pos_ == "NOUN":
        noun = noun.head.head  # "as footage of the storm plays"
    prep = noun.head
    if noun.dep_ != "pobj" or noun.pos_ not in ("NOUN", "PROPN", "PRON"):
        return
    if prep.lower_ not in CLAUSE_PREPOSITIONS or prep.head is prep or verb.head is not prep.head:
        return
    noun.dep_, noun.head = "nsubj", verb
    prep.dep_, prep.head = "mark", verb


def _repair_clauses(tokens: list[_Tok], nouns: frozenset[str]) -> None:
    """Clauses of video captions the small model hangs wrongly, mended in place.

    - a subject read as a compound of its -ing verb ("a girl dancing while ...", "there is a
      man dancing"): the noun becomes the verb's subject (not when FACTUAL names the -ing
      word as an object: "metal railing");
    - a progressive read as an adjective ("women are modeling clothes": "modeling" an
      adjective of "clothes"): the -ing word becomes the verb, "are" its auxiliary;
    - a clause read as a relative clause of the object before it ("a woman opens the door then
      a man walks in", "after the players shake hands the game begins"): it becomes a clause of
      its own;
    - a clause after "as" / "while" read as the preposition's object ("kids laughing as a
      clown performs tricks"): the noun becomes the verb's subject, the word its marker.
    """
    # Each pass reads the tree the passes before it left; the checks in front of each call
    # are the first test of the function called (the rules run on every caption).
    for token in tokens:
        if token.dep_ == "compound":
            _action_read_into_a_place_name(tokens, token, nouns)
    for token in tokens[2:]:
        if tokens[token.i - 1].lower_ in INCORPORATED_OBJECTS:
            _subject_and_two_word_action(tokens, token, nouns)
    for token in tokens:
        if token.tag_ == "VBG" and token.lower_ not in nouns:
            _compound_subject(tokens, token)
    for token in tokens:
        if token.tag_ == "VBG" and token.dep_ == "amod":
            _progressive_read_as_adjective(tokens, token)
    for token in tokens:
        if token.dep_ == "relcl":
            _clause_read_as_relative(tokens, token)
    for token in tokens:
        if token.tag_ in FINITE_TAGS:
            _clause_after_preposition_object(tokens, token)
    for token in tokens:
        if token.head is token:
            _subject_taken_by_opening_clause(tokens, token)
    for token in tokens:
        if token.lower_ not in nouns:
            if token.dep_ == "pobj":
                _verb_read_as_clothes(tokens, token)
            elif token.tag_ == "VBG":
                _gerund_read_as_adjective(tokens, token)
    for token in tokens:
        if token.tag_ == "VBG":
            _action_given_to_a_video(tokens, token)
    if sum(token.dep_ == "nsubj" for token in tokens) > 1:
        for token in tokens:
            _second_subject_after_with(tokens, token)
    for token in tokens:
        if token.dep_ == "prep":
            _topic_read_on_a_place(tokens, token)
            _phrase_on_something(tokens, token)
            _tool_on_the_object(tokens, token)
    for token in tokens:
        if token.dep_ == "advcl":
            _participle_clause_read_as_noun(tokens, token)


def _subject_taken_by_opening_clause(tokens: list[_Tok], verb: _Tok) -> None:
    """ "while the reporter talks footage of the fire is shown": the clause opening the
    caption took the main clause's subject as its object. A main verb without a subject, after
    a clause with a subordinator in front whose object ends right before the main verb's
    auxiliaries, gets that object as its subject."""
    if verb.head is not verb or verb.pos_ != "VERB":
        return
    kids = _children(tokens, verb)
    start = min([verb.i, *(c.i for c in kids if c.dep_ in ("aux", "auxpass") and c.i < verb.i)])
    clause = next(
        (
            c
            for c in kids
            if c.dep_ in ("advcl", "csubj", "csubjpass")  # "as A talks images ... are shown"
            and c.i < start
            and any(
                m.dep_ == "mark" and m.lower_ in SUBORDINATORS and m.i < c.i
                for m in _children(tokens, c)
            )
        ),
        None,
    )
    if clause is None or any(
        c.dep_ in ("nsubj", "nsubjpass", "csubj", "expl") and c is not clause for c in kids
    ):
        return
    noun = next(
        (c for c in _children(tokens, clause) if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")),
        None,
    )
    if noun is None or noun.i < clause.i:
        return
    last = noun
    while _children(tokens, last) and max(c.i for c in _children(tokens, last)) > last.i:
        last = max(_children(tokens, last), key=lambda c: c.i)
    if last.i != start - 1:
        return
    passive = any(c.dep_ == "auxpass" for c in kids) or verb.tag_ == "VBN"
    noun.dep_, noun.head = ("nsubjpass" if passive else "nsubj"), verb
    clause.dep_ = "advcl"


def _subject_and_two_word_action(tokens: list[_Tok], action: _Tok, nouns: frozenset[str]) -> None:
    """ "a man ice skating", "two men sword fighting", "a girl horse riding on a beach",
    "friends video calling each other": a subject and an action of two words read as one
    compound noun. The -ing word is the verb (one action with the word before it, as in
    "arm wrestle"), the person before is its subject."""
    if action.i < 2 or action.lower_ in nouns:
        return
    word, subject = tokens[action.i - 1], tokens[action.i - 2]
    if word.lower_ not in INCORPORATED_OBJECTS or subject.pos_ not in ("NOUN", "PROPN"):
        return
    if subject.head not in (word, action):
        return
    person = {subject.lemma_.lower(), subject.lower_, subject.lower_.removesuffix("s")}
    if not person & (PERSON_NOUNS | INDEFINITE_PEOPLE):  # ("kids" tagged a proper noun)
        return  # "ski pole laying on the ground": no one doing "pole laying"
    if " " in action.lemma_:
        lemma: str | None = action.lemma_.split(" ", 1)[1]  # already "sword fight"
    elif action.pos_ == "VERB" and action.tag_ == "VBG":
        lemma = action.lemma_.lower()
    else:
        lemma = _gerund_lemma(action, nouns)
    if lemma is None:
        return
    if word.head is action and word.dep_ in ("compound", "nsubj"):
        pass
    elif action.head is word and action.dep_ == "acl":
        _take_place(tokens, action, word)  # "friends video calling": "video" read as the root
    else:
        return
    _as_gerund_verb(action, f"{word.lower_} {lemma}")
    word.dep_, word.head = "compound", action
    for child in _children(tokens, action) + _children(tokens, subject):
        if child.i < subject.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = subject  # "two men": the number is the men's
    subject.dep_, subject.head = "nsubj", action


def _action_read_into_a_place_name(tokens: list[_Tok], action: _Tok, nouns: frozenset[str]) -> None:
    """ "a man is in the kitchen cooking dinner", "people in the park playing football": the
    place, the action and its object read as one name ("kitchen cooking dinner"). The place
    is the preposition's object; the -ing word is an action of whoever is there, on the noun
    after it."""
    if action.dep_ != "compound" or action.i == 0 or action.i + 1 >= len(tokens):
        return
    noun, place = tokens[action.i + 1], tokens[action.i - 1]
    if action.head is not noun or noun.dep_ != "pobj" or noun.lower_ in GERUND_MODIFIED_NOUNS:
        return
    if place.pos_ not in ("NOUN", "PROPN") or place.dep_ != "compound":
        return
    if place.head not in (action, noun) or noun.head.lower_ not in ("in", "at", "on"):
        return
    lemma = action.lemma_.lower() if action.tag_ == "VBG" else _gerund_lemma(action, nouns)
    if lemma is None or lemma not in _VERB_LEMMAS or action.lower_ in nouns:
        return
    _take_place(tokens, place, noun, before=place.i)
    _as_gerund_verb(action, lemma)
    action.dep_, action.head = "acl", place
    noun.dep_, noun.head = "dobj", action


def _verb_read_as_clothes(tokens: list[_Tok], verb: _Tok) -> None:
    """ "a woman in black puts on lipstick", "a boy in blue kicks a ball": the verb after a
    colour read as the noun the person is in ("in black puts"). The colour is what they are
    in; the verb is the sentence's, with the person as subject and the words after it."""
    if verb.dep_ != "pobj" or verb.tag_ not in ("NNS", "NNPS") or verb.i < 2:
        return
    colour, prep = tokens[verb.i - 1], verb.head
    if colour.lower_ not in COLOUR_WORDS or colour.head is not verb or prep.lower_ != "in":
        return
    lemma = verb.lemma_.lower()
    if lemma not in _VERB_LEMMAS or any(c.i > verb.i for c in _children(tokens, verb)):
        return
    owner = prep.head
    if owner.pos_ not in ("NOUN", "PROPN") or owner.i > prep.i:
        return
    governor = owner.head
    if owner.head is owner:
        verb.dep_, verb.head = "ROOT", verb
    elif owner.dep_ == "nsubj" and governor.pos_ in ("NOUN", "PROPN") and governor.i > verb.i:
        # "a boy in blue kicks a ball": "ball" read as the root, "boy" its subject.
        _take_place(tokens, verb, governor, before=verb.i)
        governor.dep_, governor.head = "dobj", verb
    else:
        return
    colour.dep_, colour.head = "pobj", prep
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBZ", lemma, False, True
    owner.dep_, owner.head = "nsubj", verb
    for child in _children(tokens, owner):
        if child.i > verb.i:
            child.head = verb  # "puts on lipstick", "jumps over a fence"


# Prepositions after which an -ing word in front of a noun is an action on it ("talks about
# cooking pasta"), not a kind of the noun ("on cutting board", "in swimming pool").
ACTION_PREPOSITIONS = frozenset({"about", "after", "before", "without", "by", "while"})


def _gerund_read_as_adjective(tokens: list[_Tok], gerund: _Tok) -> None:
    """ "a woman talks about cooking pasta": "cooking" read as an adjective of "pasta"."""
    if gerund.tag_ != "VBG" or gerund.dep_ not in ("amod", "compound") or gerund.i == 0:
        return
    prep, noun = tokens[gerund.i - 1], gerund.head
    if prep.lower_ not in ACTION_PREPOSITIONS or noun.head is not prep or noun.dep_ != "pobj":
        return
    if noun.i != gerund.i + 1 or noun.lower_ in GERUND_MODIFIED_NOUNS:
        return
    gerund.dep_, gerund.head, gerund.pos_, gerund.verb = "pcomp", prep, "VERB", True
    noun.dep_, noun.head = "dobj", gerund


# Nouns of a video or picture, and what they can do: "a movie clip showing ..." shows, but in
# "a scene with soldiers marching" the soldiers march.
SHOWING_NOUNS = MEDIA_NOUNS | {"scene", "screen", "image", "images", "shot", "view"}
SHOWING_VERBS = frozenset({
    "show", "feature", "depict", "play", "start", "begin", "end", "display", "include",
    "contain", "star", "focus", "describe", "explain", "present", "demonstrate", "highlight",
    "capture", "compare", "have", "be", "open", "close", "cover", "discuss", "tell", "introduce",
    "advertise", "promote", "review", "teach", "give", "provide", "use", "talk", "come", "go",
    "continue", "change", "fade", "load", "zoom", "pan", "cut", "consist", "involve", "run",
})  # fmt: skip


def _action_given_to_a_video(tokens: list[_Tok], verb: _Tok) -> None:
    """ "a scene with soldiers in uniforms marching", "a movie clip showing a man and women in
    dresses dancing": the small model gives the action to the video or scene. The action
    belongs to the nouns before it that can act (the soldiers; the man and women, not the
    dresses they are in)."""
    if verb.tag_ != "VBG" or verb.pos_ != "VERB" or verb.lemma_.lower() in SHOWING_VERBS:
        return
    subject = next((c for c in _children(tokens, verb) if c.dep_ == "nsubj" and c.i < verb.i), None)
    if subject is None and verb.dep_ == "acl" and verb.head.i < verb.i:
        subject = verb.head
    if subject is None or subject.lower_ not in SHOWING_NOUNS:
        return
    candidate = next(
        (
            t
            for t in reversed(tokens[subject.i + 1 : verb.i])
            if t.pos_ in ("NOUN", "PROPN") and t.dep_ in ("pobj", "dobj", "conj")
        ),
        None,
    )
    for _ in range(3):
        if candidate is None or candidate.dep_ != "pobj" or candidate.head.lower_ != "in":
            break
        place = candidate.head.head  # "in dresses": the wearer
        if place.pos_ in ("NOUN", "PROPN"):
            candidate = place
        else:
            candidate = next((c for c in _children(tokens, place) if c.dep_ == "dobj"), None)
    if candidate is None or candidate.lower_ in SHOWING_NOUNS:
        return
    while candidate.dep_ == "conj" and candidate.head.pos_ in ("NOUN", "PROPN"):
        candidate = candidate.head  # "a man and women": both
    if verb.head is verb:
        subject.dep_, subject.head = "ROOT", subject
    verb.dep_, verb.head = "acl", candidate


def _second_subject_after_with(tokens: list[_Tok], verb: _Tok) -> None:
    """ "a woman with blonde hair and a black shirt is talking": "shirt" read as a second
    subject of "talking". Two subjects for one verb, the first with a "with" phrase before
    "and" the second: the second is joined to the object of "with" (a person, to the first
    subject)."""
    subjects = [c for c in _children(tokens, verb) if c.dep_ == "nsubj" and c.i < verb.i]
    if len(subjects) != 2:
        return
    first, second = subjects
    joiner = tokens[second.i - 1] if second.i > 0 else None
    words = [t for t in tokens[first.i + 1 : second.i] if t.dep_ in ("det", "amod", "compound")]
    and_word = next((t for t in tokens[first.i : second.i] if t.lower_ == "and"), None)
    if joiner is None or and_word is None:
        return
    owned = [
        t
        for t in tokens[first.i + 1 : and_word.i]
        if t.dep_ == "pobj" and t.head.lower_ == "with" and t.head.head is first
    ]
    if not owned or any(w.i < and_word.i for w in words if w.head is second):
        return
    # "a man with a hat and a woman are dancing": a person is a second subject.
    head = first if second.lemma_.lower() in PERSON_NOUNS else owned[-1]
    second.dep_, second.head = "conj", head
    and_word.head = head


def _tool_on_the_object(tokens: list[_Tok], prep: _Tok) -> None:
    """ "slices white onion with sharp knife", "playing badminton with a team": a tool or a
    companion after "with" hung on the verb's object is the action's."""
    noun = prep.head
    if prep.lower_ != "with" or prep.dep_ != "prep" or noun.dep_ != "dobj" or noun.i > prep.i:
        return
    verb = noun.head
    if verb.pos_ != "VERB" or verb.lemma_.lower() in NON_INSTRUMENT_VERBS:
        return
    if any(
        c.dep_ == "pobj" and {c.lemma_.lower(), c.lower_} & (INSTRUMENT_NOUNS | COMPANION_NOUNS)
        for c in _children(tokens, prep)
    ):
        prep.head = verb


def _phrase_on_something(tokens: list[_Tok], prep: _Tok) -> None:
    """ "a man talking something about the new phones": a phrase hung on "something" (no
    object of its own) is the verb's."""
    noun = prep.head
    if prep.dep_ != "prep" or noun.lower_ not in ("something", "anything", "everything"):
        return
    if noun.dep_ == "dobj" and noun.head.pos_ == "VERB" and noun.i < prep.i:
        prep.head = noun.head


# Verbs whose "about" phrase is their topic wherever the parse hangs it.
TALKING_VERBS = frozenset({
    "talk", "speak", "chat", "discuss", "explain", "tell", "argue", "joke", "complain",
    "report", "comment", "sing", "rant", "ask", "write", "read", "learn", "think", "teach",
})  # fmt: skip


def _topic_read_on_a_place(tokens: list[_Tok], about: _Tok) -> None:
    """ "a man speaking at a conference about technology": "about technology" is what he
    speaks about, not a kind of conference. "about" after the object of a verb's preposition
    goes to the verb (a video or story keeps its topic: "a talk in a video about cars")."""
    if about.lower_ != "about" or about.dep_ != "prep":
        return
    noun = about.head
    if noun.dep_ != "pobj" or noun.i > about.i:
        return
    verb = noun.head.head
    if verb.pos_ != "VERB" or noun.head.dep_ != "prep":
        return
    if noun.lower_ in SHOWING_NOUNS and verb.lemma_.lower() not in TALKING_VERBS:
        return  # "dancing in a video about cars": the video's topic
    about.head = verb  # "talks on the news about the fight": what he talks about


def _participle_clause_read_as_noun(tokens: list[_Tok], noun: _Tok) -> None:
    """ "a woman dancing while a man in a suit playing piano": the clause after "while" read
    as the noun "man" (with "while" its marker) and "playing" a participle of "suit". The
    participle heads the clause, the noun is its subject."""
    if noun.pos_ not in ("NOUN", "PROPN") or noun.dep_ != "advcl":
        return
    marks = [c for c in _children(tokens, noun) if c.dep_ == "mark" and c.lower_ in SUBORDINATORS]
    if not marks:
        return
    participle = None
    frontier = [noun]
    for _ in range(3):  # the noun, its phrase ("in a suit"), the phrase's object
        frontier = [c for t in frontier for c in _children(tokens, t) if c.i > noun.i]
        participle = next(
            (t for t in frontier if t.tag_ == "VBG" and t.dep_ in ("acl", "relcl")), None
        )
        if participle is not None:
            break
        frontier = [t for t in frontier if t.dep_ in ("prep", "pobj")]
    if participle is None:
        return
    participle.dep_, participle.head = "advcl", noun.head
    noun.dep_, noun.head = "nsubj", participle
    for mark in marks:
        mark.head = participle


def _compound_subject(tokens: list[_Tok], verb: _Tok) -> None:
    """ "a girl dancing", "there is a man dancing": a noun read as a compound of the -ing verb
    right after it, the verb without a subject: the noun is the subject."""
    if verb.pos_ != "VERB" or verb.tag_ != "VBG" or verb.i == 0 or verb.dep_ == "compound":
        return
    if " " in verb.lemma_:
        return  # "Arm wrestling": "arm" is part of the action
    noun = tokens[verb.i - 1]
    if noun.head is not verb or noun.dep_ != "compound" or noun.pos_ not in ("NOUN", "PROPN"):
        return
    kids = _children(tokens, verb)
    if any(c.dep_ in ("nsubj", "nsubjpass", "csubj") for c in kids):
        return
    noun.dep_ = "nsubj"
    for child in kids:
        if child.i < noun.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = noun  # "a girl": the determiner is the girl's


def _progressive_read_as_adjective(tokens: list[_Tok], verb: _Tok) -> None:
    """ "women are modeling clothes": an -ing word right after "be", read as an adjective of
    the noun after it, is the verb; "be" is its auxiliary and the noun its object."""
    if verb.tag_ != "VBG" or verb.dep_ != "amod" or verb.i == 0:
        return
    noun = verb.head
    be = tokens[verb.i - 1]
    if noun.i <= verb.i or noun.dep_ not in ("attr", "dobj") or noun.head is not be:
        return
    if be.lemma_ != "be" or not any(
        c.dep_ == "nsubj" and c.i < be.i for c in _children(tokens, be)
    ):
        return
    if any(t.dep_ in ("det", "poss", "nummod") for t in tokens[verb.i + 1 : noun.i]):
        return
    _take_place(tokens, verb, be)
    verb.pos_, verb.verb = "VERB", True
    be.dep_, be.head, be.pos_ = "aux", verb, "AUX"
    noun.dep_, noun.head = "dobj", verb


def _clause_read_as_relative(tokens: list[_Tok], verb: _Tok) -> None:
    """A clause the small model read as a relative clause of the object before it.

    "a woman opens the door then a man walks in": "a man walks in" is no relative clause of
    "door" when an order word stands between them, when the clause before is a subordinate
    one opening the caption ("after the players shake hands the game begins", "while driving a
    car a man talks ..."), or when the verb has an object of its own (the relative clause
    "the door a man opens" has none). It becomes a clause joined to the verb before it, or the
    main clause.
    """
    if verb.dep_ != "relcl" or verb.pos_ != "VERB":
        return
    kids = _children(tokens, verb)
    if verb.tag_ not in FINITE_TAGS and not any(c.dep_ in ("aux", "auxpass") for c in kids):
        return
    subject = next((c for c in kids if c.dep_ in ("nsubj", "nsubjpass") and c.i < verb.i), None)
    noun = verb.head
    if subject is None or subject.pos_ == "PRON" or subject.lower_ in ("who", "that", "which"):
        return
    start = min([subject.i, *(c.i for c in kids if c.i < verb.i)])
    between = tokens[noun.i + 1 : start]
    if any(t.lower_ in ("who", "that", "which", "whom", "whose") for t in between):
        return
    governor = noun.head
    while governor.pos_ not in ("VERB", "AUX") and governor.head is not governor:
        governor = governor.head
    if governor.pos_ not in ("VERB", "AUX") or governor.i > noun.i:
        return
    opening = governor.head is governor and any(
        c.dep_ in ("mark", "advmod") and c.lower_ in SUBORDINATORS and c.i < governor.i
        for c in _children(tokens, governor)
    )
    ordered = any(t.lower_ in SEQUENCERS for t in tokens[noun.i + 1 : verb.i])
    own_object = any(c.dep_ == "dobj" for c in kids)
    if opening:
        # "After A the game begins": the relative clause is the main clause.
        verb.dep_, verb.head = "ROOT", verb
        governor.dep_, governor.head = "advcl", verb
    elif ordered or own_object:
        verb.dep_, verb.head = "conj", governor


def _clause_after_preposition_object(tokens: list[_Tok], verb: _Tok) -> None:
    """ "kids laughing as a clown performs tricks": "as a clown" read as a phrase of
    "laughing" and "kids" as the subject of "performs". The noun right before the verb is its
    subject, "as" marks its clause, which depends on the -ing verb; "kids" heads the
    caption again."""
    if verb.pos_ != "VERB" or verb.tag_ not in FINITE_TAGS or verb.i == 0:
        return
    subject = next((c for c in _children(tokens, verb) if c.dep_ == "nsubj"), None)
    noun = tokens[verb.i - 1]
    while noun.dep_ == "pobj" and noun.head.lower_ == "of" and noun.head.head.pos_ == "NOUN":
        noun = noun.head.head  # "as footage of the storm plays"
    prep = noun.head
    if subject is None or noun.dep_ != "pobj" or noun.pos_ not in ("NOUN", "PROPN"):
        return
    if prep.lower_ not in ("as", "while") or prep.head.pos_ != "VERB" or prep.head.tag_ != "VBG":
        return
    participle = prep.head
    top = participle
    while top.dep_ == "advcl" and top.head.tag_ == "VBG" and top.head is not top:
        top = top.head  # "a woman sitting in a chair talking as a man listens"
    if top.dep_ != "acl" or top.head is not subject or verb.head is not verb:
        return
    subject.dep_, subject.head = "ROOT", subject
    verb.dep_, verb.head = "advcl", participle
    noun.dep_, noun.head = "nsubj", verb
    prep.dep_, prep.head = "mark", verb


def _attach_side(side: _Tok) -> None:
    """ "moves out of view to the right": a side phrase after a verb's prepositional object
    belongs to the verb (the motion goes to the right, not the view)."""
    prep = side.head
    noun = prep.head
    if prep.dep_ != "prep" or prep.lower_ not in MOTION_SIDE_PREPOSITIONS or noun.dep_ != "pobj":
        return
    outer = noun.head
    while outer.dep_ == "prep" and outer.head.dep_ == "prep" and outer.head is not outer:
        outer = outer.head  # "out of view": climb to the first preposition
    if outer.dep_ == "prep" and outer.head.pos_ == "VERB" and outer.head is not outer:
        prep.head = outer.head


def _attach_direction(tokens: list[_Tok], verb: _Tok) -> None:
    """A direction word right after a verb is its adverb: "moves left" (with "left" tagged as
    the verb "leave" hanging on "moves"), "moves right after ..." ("right" read as modifying
    "after")."""
    word = tokens[verb.i + 1]
    if word.lower_ not in DIRECTION_WORDS or word.dep_ in ("prep", "prt", "agent", "pobj"):
        return
    if word.head is verb:
        if word.dep_ in ("advmod", "npadvmod") and word.pos_ == "ADV":
            return
        if word.dep_ not in ("acl", "xcomp", "ccomp", "dobj", "oprd", "acomp", "amod", "advmod"):
            return
        children = _children(tokens, word)
        if any(c.dep_ == "prep" and c.lower_ not in CLAUSE_PREPOSITIONS for c in children):
            return  # "leading down to the lot": a preposition of its own ("down to")
        for child in children:
            child.head = verb  # "moves left before ...": the clause hangs on the motion
    elif word.head.lower_ in CLAUSE_PREPOSITIONS and not _children(tokens, word):
        word.head = verb
    else:
        return
    word.dep_, word.pos_ = "advmod", "ADV"


def _reread_as_verb(tokens: list[_Tok], verb: _Tok, subject: _Tok, lemma: str) -> None:
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBZ", lemma, False, True
    subject.dep_, subject.head = "nsubj", verb
    for child in _children(tokens, verb):
        if child.i < subject.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = subject  # "The purple [star slides]": the modifiers are the star's
    head = verb.head
    if verb.dep_ == "nsubj" and head is not verb:
        if head.lower_ in DIRECTION_WORDS:
            # "moves left" read as "moves" the subject of the verb "left".
            _take_place(tokens, verb, head)
            head.dep_, head.pos_, head.head = "advmod", "ADV", verb
        elif head.pos_ in ("VERB", "AUX") and head.i > verb.i:
            # "the cube heads for the ball, and the cone does not move": two clauses; the
            # second keeps its own words ("the cube enters after the star moves up").
            _take_place(tokens, verb, head, before=verb.i)
            head.dep_, head.head = "conj", verb
    elif verb.dep_ == "pobj" and head.lower_ in CLAUSE_PREPOSITIONS and head.head is not head:
        # "after the cube moves right": the preposition marks the clause.
        governor = head.head
        verb.dep_, verb.head = "advcl", governor
        head.dep_, head.head = "mark", verb
        for child in _children(tokens, governor):
            if child.i > verb.i and child.dep_ in ("dobj", "prt", "dative"):
                child.head = verb  # "cheer as a runner crosses the finish line"
    following = tokens[verb.i + 1] if verb.i + 1 < len(tokens) else None
    if (
        following is not None
        and following.lower_ in DIRECTION_WORDS
        and following.head is not verb
        and following.dep_ in ("advmod", "npadvmod", "amod", "dobj", "acomp")
        and not _children(tokens, following)
    ):
        following.dep_, following.head = "advmod", verb  # "moves right" attached elsewhere


def _take_place(tokens: list[_Tok], token: _Tok, other: _Tok, before: int | None = None) -> None:
    """``token`` takes ``other``'s place in the tree; ``other``'s dependents move to it (with
    ``before``, only those in front of that position)."""
    root = other.head is other
    token.dep_ = other.dep_
    token.head = token if root else other.head
    for child in _children(tokens, other):
        if child is not token and (before is None or child.i < before):
            child.head = token


def _is_nominal(
    token: _Tok, kids: list[_Tok] | None = None, nouns: frozenset[str] = frozenset()
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


@lru_cache(maxsize=4)
def _cached_nlp(name: str | None) -> Language:
    import spacy

    from finsta_cli.text.spacy_model import resolve_spacy_model

    info = resolve_spacy_model(name)
    # info.name is the package name, or the folder's path for a pipeline saved with to_disk.
    nlp = spacy.load(info.name, exclude=list(SPACY_EXCLUDE))
    register_verb_lexicon(nlp)
    return nlp


def register_verb_lexicon(nlp: Language) -> None:
    """Add the verb lemmas of ``nlp``'s lemmatizer tables (WordNet's, in spaCy's English models).

    The verb repair (:func:`_repair_verbs`) reads them to tell "slides" the verb from "slides"
    the noun when the small model tags a verb as a plural noun.
    """
    if "lemmatizer" not in nlp.pipe_names:
        return
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return
    verbs = lookups.get_table("lemma_index").get("verb")
    if verbs:
        _VERB_LEMMAS.update(str(verb) for verb in verbs)


def load_nlp(name: str | None = None) -> Language:
    """The spaCy pipeline with only the components the parser reads (cached per name)."""
    return _cached_nlp(name)


@dataclass
class _Predicate:
    node: int
    token: int
    agents: list[int] = field(default_factory=list)


class _GraphBuilder:
    """Builds one caption's TSG from its spaCy Doc."""

    def __init__(
        self,
        doc: Doc,
        conventions: Conventions,
        text: str | None = None,
        lemmas: LemmaCache | None = None,
    ) -> None:
        self.doc = doc
        self.text = doc.text if text is None else text  # Doc.text joins its tokens each call
        self.tokens: list[_Tok] = _copy_tokens(doc, self.text, lemmas)
        _repair_verbs(self.tokens, conventions.nouns)
        self.kids: list[list[_Tok]] = [[] for _ in self.tokens]  # children, built once
        for token in self.tokens:
            if token.head.i != token.i:
                self.kids[token.head.i].append(token)
        self.conv = conventions
        # Plain dicts, validated once as a TSG record at the end (one pydantic call per caption).
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.edge_keys: set[tuple[int, int, str, str | None]] = set()
        self.objects: dict[int, int] = {}  # token index -> object node
        self.absorbed: set[int] = set()  # tokens merged into a name or a preposition
        self.dropped: set[int] = set()  # quantity nouns: "bunch" of birds
        self.predicates: dict[int, _Predicate] = {}  # verb token -> predicate
        self.fronted: dict[int, _Tok] = {}  # verb token -> object fronted before its subject
        self.gerund_compounds: dict[int, _Tok] = {}  # noun token -> "cutting" of cutting board
        self.name_words: dict[int, list[_Tok]] = {}  # object token -> other words of its name

    def is_nominal(self, token: _Tok) -> bool:
        return _is_nominal(token, self.kids[token.i], self.conv.nouns)

    # -- nodes and edges -------------------------------------------------------------------
    def add_node(self, kind: str, label: str, span: tuple[int, int] | None, **extra: Any) -> int:
        label = " ".join(label.split())
        if not label:  # a token of symbols or spaces: name it by its caption text
            label = " ".join(self.text[span[0] : span[1]].split()) if span else ""
        node = {
            "id": len(self.nodes), "type": kind, "label": label or "_", "lemma": None,
            "span": span, "number": None, "count": None,
        }  # fmt: skip
        node.update(extra)
        self.nodes.append(node)
        return len(self.nodes) - 1

    def add_edge(self, source: int, target: int, kind: str, preposition: str | None = None) -> None:
        key = (source, target, kind, preposition)
        if source == target or key in self.edge_keys:
            return
        self.edge_keys.add(key)
        edge = {"source": source, "target": target, "type": kind, "preposition": preposition}
        self.edges.append(edge)

    def span(self, tokens: Sequence[_Tok]) -> tuple[int, int]:
        if len(tokens) == 1:
            token = tokens[0]
            return token.idx, token.idx + len(token.text)
        start = min(t.idx for t in tokens)
        end = max(t.idx + len(t.text) for t in tokens)
        return start, end

    # -- objects -----------------------------------------------------------------------------
    def object_for(self, token: _Tok) -> int | None:
        """The object node a token stands for (resolving pronouns and quantity nouns)."""
        seen = 0
        while token.i in self.dropped and seen < 4:
            target = self._of_object(token)
            if target is None:
                return None
            token, seen = target, seen + 1
        if token.i in self.objects:
            return self.objects[token.i]
        if token.pos_ == "PRON" or token.lower_ in EXPLETIVES:
            return self._resolve_pronoun(token)
        return None

    def _of_object(self, token: _Tok) -> _Tok | None:
        for child in self.kids[token.i]:
            if child.dep_ == "prep" and child.lower_ == "of":
                for grandchild in self.kids[child.i]:
                    if grandchild.dep_ == "pobj":
                        return grandchild
        return None

    def _resolve_pronoun(self, token: _Tok) -> int | None:
        lower = token.lower_
        if lower in ("who", "that", "which", "whom"):
            verb = token.head
            while verb.dep_ == "conj" and verb.head.i != verb.i:
                verb = verb.head
            if verb.dep_ in ("relcl", "acl") and verb.head.i in self.objects:
                return self.objects[verb.head.i]
            return None
        if lower in ("it", "its", "he", "him", "she", "her"):
            want = "singular"
        elif lower in ("they", "them", "their"):
            want = "plural"
        else:
            return None
        # The nearest earlier object of that number that is not an argument of the same verb.
        own = self.subtree(token.head) if token.dep_ != "nsubj" else set()
        own_subjects = {c.i for c in self.kids[token.head.i] if c.dep_ in SUBJECT_DEPS}
        if token.dep_ == "pobj" and token.head.head.pos_ == "VERB":
            # "puts butter on it", "the dog runs after it": neither the butter nor the dog
            # ("pours a glass of milk into it": nor the milk).
            for c in self.kids[token.head.head.i]:
                if c.dep_ in OBJECT_DEPS:
                    own_subjects |= self.subtree(c)
                elif c.dep_ in SUBJECT_DEPS:
                    own_subjects.add(c.i)
        if lower in ("it", "them") and token.dep_ != "nsubj":
            # "a car stops at the light and then a bus passes it": an object pronoun points
            # back at the subject of a clause before, when one fits, before the nearest noun.
            subject = self._earlier_subject(token, want, own_subjects)
            if subject is not None:
                return subject
        if lower in PERSON_PRONOUNS:
            # "when the food is ready he serves it": a person word before any subject.
            for candidate in reversed(range(token.i)):
                node_id = self.objects.get(candidate)
                if node_id is None or candidate in own_subjects:
                    continue
                if self._is_person_word(self.tokens[candidate]):
                    return node_id
        for candidate in reversed(range(token.i)):
            node_id = self.objects.get(candidate)
            if node_id is None or candidate in own_subjects:
                continue
            if token.dep_ == "pobj" and candidate in own and self._is_agent_of(candidate, token):
                continue
            if lower in PERSON_PRONOUNS and not self._is_person(self.tokens[candidate]):
                continue
            if self.nodes[node_id].get("number") in (want, None):
                return node_id
        if lower in PERSON_PRONOUNS and token.dep_ != "poss":
            # "he threw the ball": with no earlier person, FACTUAL names him "man".
            node = self.add_node(
                "object",
                PERSON_PRONOUNS[lower],
                self.span([token]),
                lemma=PERSON_PRONOUNS[lower],
                number="singular",
            )
            self.objects[token.i] = node
            return node
        return None

    def _earlier_subject(self, pronoun: _Tok, number: str, excluded: set[int]) -> int | None:
        """The object node of the nearest subject before the pronoun's clause that is not a
        person, of the pronoun's number, and not one of ``excluded``; when that subject is a
        person (or the clause shares the pronoun's subject), the nearest direct object before
        of the pronoun's number ("a man pours milk into a glass then drinks it": the milk)."""
        verb = pronoun.head.head if pronoun.dep_ == "pobj" else pronoun.head
        excluded = set(excluded)
        while verb.head is not verb and verb.dep_ in ("conj", "xcomp", "advcl", "dep"):
            if any(c.dep_ in ("nsubj", "nsubjpass") for c in self.kids[verb.i]):
                break
            # "a dog runs to the ball and picks it up": the dog picks; "it" is not the dog.
            verb = verb.head
            excluded |= {c.i for c in self.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")}
        for candidate in reversed(range(pronoun.i)):
            token = self.tokens[candidate]
            if token.dep_ not in ("nsubj", "nsubjpass") or candidate in excluded:
                continue
            node_id = self.objects.get(candidate)
            if node_id is not None and self._is_person_word(token):
                return self._earlier_object(pronoun, number, excluded)
            if node_id is None:
                return None
            return node_id if self.nodes[node_id].get("number") in (number, None) else None
        return self._earlier_object(pronoun, number, excluded)

    def _earlier_object(self, pronoun: _Tok, number: str, excluded: set[int]) -> int | None:
        for candidate in reversed(range(pronoun.i)):
            token = self.tokens[candidate]
            if token.dep_ != "dobj" or candidate in excluded or self._is_person_word(token):
                continue
            node_id = self.object_for(token) if token.pos_ != "PRON" else None
            if node_id is not None and self.nodes[node_id].get("number") in (number, None):
                return node_id
        return None

    def _is_person_word(self, token: _Tok) -> bool:
        return token.lemma_.lower() in PERSON_NOUNS or token.lower_ in INDEFINITE_PEOPLE

    def subtree(self, token: _Tok) -> set[int]:
        found = {token.i}
        for child in self.kids[token.i]:
            found |= self.subtree(child)
        return found

    def _is_person(self, token: _Tok) -> bool:
        return token.lemma_.lower() in PERSON_NOUNS or token.dep_ in ("nsubj", "nsubjpass")

    def _is_agent_of(self, candidate: int, pronoun: _Tok) -> bool:
        verb = pronoun.head.head if pronoun.dep_ == "pobj" else pronoun.head
        return any(agent == self.objects.get(candidate) for agent in self._agents_of(verb))

    def _agents_of(self, verb: _Tok) -> list[int]:
        predicate = self.predicates.get(verb.i)
        return predicate.agents if predicate else []

    def dangling_prep(self, verb: _Tok) -> _Tok | None:
        """A preposition that ends the caption with no object: "the water the bird stands on"."""
        for child in self.kids[verb.i]:
            if (
                child.dep_ in ("prep", "prt")
                and child.i > verb.i
                and not any(c.dep_ in ("pobj", "pcomp") for c in self.kids[child.i])
            ):
                rest = [t for t in self.tokens[child.i + 1 :] if not t.is_punct]
                if not rest:
                    return child
        return None

    def _find_fronted_objects(self) -> None:
        # "stool man is sitting on": spaCy reads "stool man" as one compound; the first noun is
        # the object the dangling preposition points back to.
        for verb in self.tokens:
            if verb.dep_ != "ROOT" or self.dangling_prep(verb) is None:
                continue
            for subject in (c for c in self.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")):
                compounds = [
                    c
                    for c in self.kids[subject.i]
                    if c.dep_ in ("compound", "amod")
                    and c.i < subject.i
                    and c.pos_ in ("NOUN", "PROPN")
                    and c.lower_ not in COLOUR_WORDS  # "the cyan cylinder moves up"
                ]
                if compounds:
                    self.fronted[verb.i] = compounds[0]

    def _find_gerund_compounds(self) -> None:
        # "on cutting board": the small model reads "cutting" as a verb taking "board"
        # ("after baking it", "before eating lunch": an action, not a name).
        for token in self.tokens:
            if token.dep_ == "pcomp" and token.tag_ == "VBG" and token.i + 1 < len(self.tokens):
                following = self.tokens[token.i + 1]
                if following.pos_ == "PRON" or token.head.lower_ in (
                    CLAUSE_PREPOSITIONS | ACTION_PREPOSITIONS
                ):
                    continue
                if following.dep_ == "dobj" and following.head.i == token.i:
                    self.gerund_compounds[following.i] = token
                    self.absorbed.add(token.i)

    def build_objects(self) -> None:
        self._find_gerund_compounds()
        self._find_fronted_objects()
        for fronted in self.fronted.values():
            self._add_object(fronted)
        for token in self.tokens:
            if not self.is_nominal(token) or (token.dep_ == "compound" and token.head.i != token.i):
                continue
            if self._is_relational_prep_noun(token):
                continue
            if (
                token.dep_ == "pobj"
                and self._is_bare_relational(token)
                and not self._is_verb_direction(token)
            ):
                continue  # "windows on the front" (but "slides to the right" keeps "right")
            if token.dep_ in ("npadvmod", "amod", "advmod") and token.head.pos_ in ("ADJ", "VERB"):
                continue  # "white whipped cream": an attribute word, read with its head
            if token.dep_ == "amod" and token.head.pos_ in ("NOUN", "PROPN"):
                continue  # "white string": an attribute the small model tagged as a name
            if self._is_quantity(token):
                self.dropped.add(token.i)
                continue
            self._add_object(token)
        # Compound modifiers that are objects of their own ("clock face" -> clock have face).
        for token in self.tokens:
            if token.dep_ == "compound" and token.head.i in self.objects:
                policy = self._modifier_policy(token, token.head)
                if policy == "have" and self.is_nominal(token):
                    node = self.add_node(
                        "object",
                        token.lower_,
                        self.span([token]),
                        lemma=token.lemma_.lower(),
                        number="plural" if token.tag_ in ("NNS", "NNPS") else "singular",
                    )
                    self.objects[token.i] = node
                    self._possession(node, self.objects[token.head.i], token)

    def _is_relational_prep_noun(self, token: _Tok) -> bool:
        # "in front of the car": front is part of the preposition, not an object.
        return (
            token.lower_ in RELATIONAL_NOUNS
            and token.dep_ == "pobj"
            and token.head.dep_ in ("prep", "agent")
            and self._of_object(token) is not None
        )

    def _is_verb_direction(self, token: _Tok) -> bool:
        """ "slides to the right", "enters from the left": the side a motion goes to or comes
        from is kept as the verb's prepositional argument (an object named by the side)."""
        prep = token.head
        return (
            token.lower_ in DIRECTION_SIDES
            and prep.dep_ == "prep"
            and prep.lower_ in SIDE_PREPOSITIONS
            and prep.head.pos_ == "VERB"
            and prep.head is not prep
        )

    def _is_bare_relational(self, token: _Tok) -> bool:
        return token.lower_ in BARE_PLACE_NOUNS and not any(
            c.dep_ in ("prep", "amod", "compound", "poss", "nummod") for c in self.kids[token.i]
        )

    def _is_quantity(self, token: _Tok) -> bool:
        if self._of_object(token) is None:
            return False
        return self._of_reading(token) == "drop"

    def _of_reading(self, token: _Tok) -> str:
        """How "X of Y" reads for the noun X: FACTUAL's convention, or "X of Y" for what a
        video shows ("a video of a car")."""
        if token.lower_ not in self.conv.of_heads:
            if token.lower_ in MEDIA_NOUNS:
                return "fwd:of"
            if token.lower_ in ASPECT_NOUNS:
                return "rev:have"  # "the features of a phone": the phone has them
        return self.conv.of_policy(token.lower_)

    def _name_tokens(self, token: _Tok) -> list[_Tok]:
        """The head noun with the compounds merged into its name, in caption order."""
        merged: list[_Tok] = []

        def visit(head: _Tok) -> None:
            for child in self.kids[head.i]:
                if (
                    (child.dep_ == "compound" or (child.dep_ == "amod" and child.i == head.i - 1))
                    and child.i < head.i
                    and child.i not in self.objects
                    and self._modifier_policy(child, token) == "merge"
                ):
                    merged.append(child)
                    visit(child)

        visit(token)
        if token.i in self.gerund_compounds:
            merged.append(self.gerund_compounds[token.i])
        return sorted([*merged, token], key=lambda t: t.i)

    def _modifier_policy(self, modifier: _Tok, head: _Tok) -> str:
        default = self.conv.default_compound if modifier.dep_ == "compound" else "attribute"
        if modifier.dep_ == "compound" and (
            modifier.pos_ not in ("NOUN", "PROPN") or modifier.lower_ in COLOUR_WORDS
        ):
            default = "attribute"  # "cyan cone": a colour is the cone's attribute
        dep = modifier.dep_ if modifier.dep_ in ("amod", "compound", "nummod") else "amod"
        return self.conv.modifier_policy(dep, modifier.lower_, head.lower_, default)

    def _add_object(self, token: _Tok) -> None:
        words = self._name_tokens(token)
        for word in words:
            if word.i != token.i:
                self.absorbed.add(word.i)
        self.name_words[token.i] = [word for word in words if word.i != token.i]
        label = " ".join(word.lower_ for word in words)
        lemma = token.lemma_.lower()
        if token.lower_ in INDEFINITE_PEOPLE:
            label = lemma = "person"  # "someone is cooking": FACTUAL's name for them
        if token.lower_ == "one" and self.objects:
            # "a red motorcycle beside a black one": one names the earlier object again.
            earlier = self.nodes[self.objects[max(self.objects)]]
            label, lemma = earlier["label"], earlier.get("lemma") or earlier["label"]
        plural = token.plural
        node = self.add_node(
            "object",
            label,
            self.span(words),
            lemma=lemma,
            number="plural" if plural else "singular",
        )
        self.objects[token.i] = node

    # -- attributes --------------------------------------------------------------------------
    def build_attributes(self) -> None:
        for token_index, node_id in list(self.objects.items()):
            token = self.tokens[token_index]
            if self.nodes[node_id]["label"] != token.lower_ and token_index in self.absorbed:
                continue
            for child in self.kids[token.i]:
                self._modifier(node_id, token, child)
            for word in self.name_words.get(token_index, ()):
                # "teal canopy umbrella": "teal" hangs on "canopy", merged into the name.
                for child in self.kids[word.i]:
                    if child.i not in self.absorbed and self._nested_attribute(child, token):
                        self._modifier(node_id, token, child)
            # "a pair of shoes": the dropped quantity noun counts what it names.
            if (
                token.dep_ == "pobj"
                and token.head.lower_ == "of"
                and token.head.head.i in self.dropped
            ):
                quantity = token.head.head
                count = NUMBER_WORDS.get(quantity.lower_)
                if count is not None and count > 1:
                    self._count(node_id, count, quantity)
                for child in self.kids[quantity.i]:
                    if child.dep_ in ("amod", "nummod"):
                        self._modifier(node_id, token, child)

    def _nested_attribute(self, child: _Tok, head: _Tok) -> bool:
        """Whether a modifier of a word merged into a name describes the object: an adjective,
        a colour, or a noun the conventions read as an attribute ("metal street sign")."""
        if child.dep_ == "amod" or (child.dep_ == "compound" and child.lower_ in COLOUR_WORDS):
            return True
        return child.dep_ == "compound" and (
            self.conv.modifier_policy("compound", child.lower_, head.lower_, "drop") == "attribute"
        )

    def _modifier(self, node_id: int, head: _Tok, child: _Tok) -> None:
        dep = child.dep_
        if dep in ("amod", "nummod", "compound") and child.i not in self.absorbed:
            if dep == "compound" and child.i in self.objects:
                return  # an object of its own ("clock face")
            policy = self._modifier_policy(child, head)
            if policy == "merge" and dep != "compound":
                return  # "polar bear": in the name (_name_tokens)
            if policy == "drop":
                if self._kept_scene_word(child, head):
                    self._attribute(node_id, child, nested=False)  # the word alone
                return
            if dep == "nummod" or child.pos_ == "NUM":
                count = NUMBER_WORDS.get(child.lower_)
                if count is None and child.text.isascii() and child.text.isdigit():
                    count = int(child.text)
                if count is not None:
                    self._count(node_id, count, child)
                    return
            for adjective in self._conjuncts(child):
                self._attribute(node_id, adjective)
        elif dep == "poss":
            owner = self.object_for(child)
            if owner is not None and child.pos_ != "PRON":
                self._possession(owner, node_id, child)

    def _kept_scene_word(self, modifier: _Tok, head: _Tok) -> bool:
        """Whether a modifier FACTUAL drops stays an attribute: it says what the object is like
        ("snowy", "bathroom" of "bathroom floor"), not how many or which ("other", "several")
        and is not a number. Only words in front of the object that the FACTUAL writer knows to
        leave out again (:meth:`Conventions.drops_attribute`) are kept, so FACTUAL facts stay
        as they were."""
        return (
            modifier.i < head.i
            and self.conv.drops_attribute(modifier.lower_, head.lower_)
            and modifier.dep_ != "nummod"
            and modifier.pos_ in ("ADJ", "NOUN", "PROPN", "VERB", "X")  # "snowy": X (FW)
            and modifier.text.isalpha()
            and len(modifier.text) > 1
            and modifier.lower_ not in NON_SCENE_MODIFIERS
            and modifier.lower_ not in NUMBER_WORDS
        )

    def _count(self, node_id: int, count: int, token: _Tok) -> None:
        self.nodes[node_id]["count"] = count
        if count > 1:
            attribute = self.add_node("attribute", str(count), self.span([token]))
            self.add_edge(node_id, attribute, "has_attribute")

    def _attribute(self, node_id: int, adjective: _Tok, nested: bool = True) -> None:
        words = [adjective]
        for child in self.kids[adjective.i] if nested else ():
            if child.i > adjective.i:
                if child.dep_ == "prt":
                    words.append(child)  # "lit up"
            elif child.dep_ in ("advmod", "npadvmod", "amod", "compound"):
                if (child.pos_ == "ADV" and child.lower_ not in NON_MANNER_ADVERBS) or (
                    child.lower_ in SHADES
                ):
                    words.append(child)  # "partly cloudy", "dark brown"
                elif child.pos_ in ("ADJ", "NOUN", "PROPN", "VERB"):
                    self._attribute(node_id, child)  # "white whipped cream": two attributes
        words.sort(key=lambda t: t.i)
        label = " ".join(w.lower_ for w in words)
        attribute = self.add_node("attribute", label, self.span(words))
        self.add_edge(node_id, attribute, "has_attribute")

    def _conjuncts(self, token: _Tok) -> list[_Tok]:
        found = [token]
        for child in self.kids[token.i]:
            if child.dep_ == "conj" and child.pos_ in ("ADJ", "VERB", "NOUN", "PROPN", "NUM"):
                found.extend(self._conjuncts(child))
        return found

    def _possession(self, owner: int, owned: int, token: _Tok) -> None:
        predicate = self.add_node("predicate", "have", self.span([token]), lemma="have")
        self.add_edge(predicate, owner, "agent")
        self.add_edge(predicate, owned, "patient")

    # -- arguments ---------------------------------------------------------------------------
    def expand(self, token: _Tok) -> list[int]:
        """The object nodes a token stands for, with its conjuncts ("a man and a woman")."""
        found: list[int] = []
        node = self.object_for(token)
        if node is not None:
            found.append(node)
        for child in self.kids[token.i]:
            if child.dep_ == "conj":
                found.extend(self.expand(child))
            if child.dep_ == "appos":
                found.extend(self.expand(child)[1:])
        return found

    def _conjoined_preps(self, prep: _Tok) -> list[_Tok]:
        """Prepositions conjoined to ``prep`` ("about X and about Y"), found through the
        conjunct's place in the parse: under the preposition or under its object."""
        found = []
        for head in [prep, *(c for c in self.kids[prep.i] if c.dep_ == "pobj")]:
            for child in self.kids[head.i]:
                if child.dep_ == "conj" and child.pos_ == "ADP":
                    found.append(child)
                    found.extend(self._conjoined_preps(child))
        return found

    def _is_prep_adverb(self, token: _Tok) -> bool:
        # "next to", "close to", "away from": an adverb heading the preposition.
        return token.dep_ in ("advmod", "amod", "npadvmod") and any(
            c.dep_ == "prep" for c in self.kids[token.i]
        )

    def prep_targets(self, prep: _Tok) -> tuple[str, list[_Tok], list[_Tok]]:
        """A preposition's label (multi-word ones joined), its objects and its words."""
        if prep.dep_ not in ("prep", "agent") and not (prep.dep_ == "conj" and prep.pos_ == "ADP"):
            inner_prep = next((c for c in self.kids[prep.i] if c.dep_ == "prep"), None)
            if inner_prep is None:
                return prep.lower_, [], [prep]
            label, objs, more = self.prep_targets(inner_prep)
            return f"{prep.lower_} {label}", objs, [prep, *more]
        words = [prep]
        label_words = [prep.lower_]
        objects = [c for c in self.kids[prep.i] if c.dep_ in ("pobj", "pcomp") and c.pos_ != "ADP"]
        objects = [
            next((g for g in self.kids[c.i] if g.i in self.gerund_compounds), c) for c in objects
        ]
        inner = [
            c
            for c in self.kids[prep.i]
            if c.dep_ == "prep" or (c.dep_ == "pcomp" and c.pos_ == "ADP")
        ]
        if not objects and inner:
            # "in between the tracks", "out of the box"
            label, objs, more = self.prep_targets(inner[0])
            return f"{prep.lower_} {label}", objs, [prep, *more]
        if (
            objects
            and objects[0].lower_ in RELATIONAL_NOUNS
            and self._is_relational_prep_noun(objects[0])
        ):
            noun = objects[0]
            of = next(c for c in self.kids[noun.i] if c.dep_ == "prep" and c.lower_ == "of")
            words += [noun, of]
            label_words += [noun.lower_, "of"]
            objects = [c for c in self.kids[of.i] if c.dep_ == "pobj"]
        return " ".join(label_words), objects, words

    def build_predicates(self) -> None:
        for token in self.tokens:
            if token.i in self.objects or token.i in self.dropped or token.i in self.absorbed:
                continue
            if token.lemma_ == "have" and token.dep_ == "aux" and token.head.i in self.objects:
                self._have_aux(token)
            elif token.pos_ in ("VERB", "AUX") and not self._is_auxiliary(token):
                self._verb(token)
        for token in self.tokens:
            if token.i in self.objects or token.i in self.dropped:
                self._noun_relations(token)
        self._copulas()

    def _have_aux(self, token: _Tok) -> None:
        # "the bird has beak": the small model makes "has" an auxiliary of the noun.
        owned = token.head
        for subject in (c for c in self.kids[owned.i] if c.dep_ in ("nsubj", "nsubjpass")):
            for owner in self.expand(subject):
                for target in self.expand(owned):
                    self._possession(owner, target, token)

    def _is_auxiliary(self, token: _Tok) -> bool:
        if token.dep_ in ("aux", "auxpass"):
            return True
        # A copula's arguments are read in _copulas.
        return token.lemma_ == "be"

    def _verb_subjects(self, verb: _Tok) -> tuple[list[int], bool]:
        """The verb's agents and whether it is passive with the agent unknown."""
        agents: list[int] = []
        passive = False
        for child in self.kids[verb.i]:
            if child.dep_ in ("nsubj", "csubj"):
                agents += self.expand(child)
            elif child.dep_ == "nsubjpass":
                passive = True
                agents += self.expand(child)
        head = verb.head
        if not agents and verb.dep_ in ("acl", "relcl", "amod") and head.i != verb.i:
            agents = self.expand(head) if verb.dep_ == "acl" else self.expand_single(head)
            if verb.dep_ == "acl" and head.dep_ == "dobj" and head.head.lemma_.lower() == "wear":
                # "a girl wearing a dress sleeping": the wearer sleeps, not the dress.
                wearer = self._agents_of(head.head) or self._verb_subjects(head.head)[0]
                agents = list(wearer) or agents
            if verb.dep_ == "acl" and head.dep_ == "pobj" and head.head.lower_ in ("with", "in"):
                # "woman with long hair sitting on the bus", "a man in a tshirt playing
                # guitar": the woman sits, the man plays.
                owner = head.head.head
                if owner.lemma_ == "be":
                    # "friends are in a room talking": the friends talk, not the room.
                    owner = next(
                        (c for c in self.kids[owner.i] if c.dep_ in ("nsubj", "expl")), owner
                    )
                if (
                    self.object_for(owner) is not None
                    and owner.lower_ not in SHOWING_NOUNS  # "a scene with soldiers marching"
                    and not (
                        head.lemma_.lower() in PERSON_NOUNS
                        and owner.lemma_.lower() not in PERSON_NOUNS
                    )  # "a car with a guy speaking about it": the guy speaks
                ):
                    agents = self.expand_single(owner)
        elif not agents and head.i != verb.i and (verb.dep_ == "conj" or self._sequenced(verb)):
            agents = list(self._agents_of(head)) or self._verb_subjects(head)[0]
        elif (
            not agents
            and verb.dep_ == "xcomp"
            and verb.tag_ == "VBG"
            and (seen := next((c for c in self.kids[head.i] if c.dep_ == "dobj"), None)) is not None
            and seen.i < verb.i
        ):
            agents = self.expand(seen)  # "a screen showing some people talking": they talk
        elif not agents and verb.dep_ in ("advcl", "xcomp") and head.i != verb.i:
            agents = list(self._agents_of(head)) or self._verb_subjects(head)[0]
            if not agents and head.i in self.objects:
                agents = self.expand_single(head)
        elif not agents and verb.dep_ == "ROOT":
            # A fragment parsed as a verb-led sentence ("zebra grazing ...") may put the
            # subject under an npadvmod or dep.
            for child in self.kids[verb.i]:
                if child.dep_ in ("npadvmod", "dep") and child.i < verb.i:
                    agents += self.expand(child)
        elif (
            not agents
            and verb.dep_ == "pcomp"
            and (pobj := self._pobj_before(head, verb)) is not None
        ):
            agents = self.expand(pobj)  # "a cartoon of a boy running": the boy runs
        elif not agents and verb.dep_ == "pcomp" and head.head.i in self.objects:
            agents = self.expand_single(head.head)
        elif not agents and verb.dep_ == "pcomp" and head.head.pos_ in ("VERB", "AUX"):
            # "play on the beach before running into the water"
            governor = head.head
            agents = list(self._agents_of(governor)) or self._verb_subjects(governor)[0]
        return agents, passive

    def _pobj_before(self, prep: _Tok, verb: _Tok) -> _Tok | None:
        """The object of ``prep`` in front of a verb that is the preposition's other
        complement ("of a boy running"), if there is one."""
        return next(
            (
                c
                for c in self.kids[prep.i]
                if c.dep_ == "pobj" and c.i < verb.i and c.pos_ != "PRON"
            ),
            None,
        )

    def _sequenced(self, verb: _Tok) -> bool:
        """ "a man demonstrates a product then shows the price": a verb after "then" that the
        small model hung loosely (``dep``) on the verb before it shares its subject."""
        head = verb.head
        return (
            verb.dep_ == "dep"
            and head.pos_ == "VERB"
            and head.i < verb.i
            and any(c.lower_ in SEQUENCERS and c.i < verb.i for c in self.kids[verb.i])
        )

    def _is_instrument(self, lemma: str, preposition: str, target: int) -> bool:
        """ "slices an onion with a knife", "hitting ball with racket" (FACTUAL: woman hit with
        racket): a tool after "with" is the action's, not the object's."""
        node = self.nodes[target]
        if preposition != "with":
            return False
        words = {node["lemma"], node["label"]}
        if words & COMPANION_NOUNS:
            return True  # "playing badminton with a team": who one plays with
        return lemma not in NON_INSTRUMENT_VERBS and bool(words & INSTRUMENT_NOUNS)

    def _is_by_agent(self, verb: _Tok, child: _Tok) -> bool:
        """Whether ``child`` is a "by" phrase naming the agent ("hit by the man").

        "parked by the side of the road" names a place instead: no object after "by".
        """
        if not (child.dep_ == "agent" or (child.dep_ == "prep" and child.lower_ == "by")):
            return False
        if verb.tag_ != "VBN" and child.dep_ != "agent":
            return False
        pobjs = [c for c in self.kids[child.i] if c.dep_ == "pobj"]
        # "interviewed by a beach": a place, not the interviewer.
        place_verb = verb.lemma_.lower() in PLACE_VERBS
        return any(
            self.object_for(p) is not None and (place_verb or p.lemma_.lower() not in BY_PLACES)
            for p in pobjs
        )

    def _gap_target(self, verb: _Tok, agents: list[int]) -> int | None:
        """The object a clause without its object points back to, if any."""
        if verb.i in self.fronted:
            return self.objects.get(self.fronted[verb.i].i)
        own_subject = [c for c in self.kids[verb.i] if c.dep_ in ("nsubj", "nsubjpass")]
        if (
            verb.dep_ == "relcl"
            and own_subject
            and own_subject[0].lower_ not in ("who", "that", "which")
        ):
            head = self.object_for(verb.head)
            if head is not None and head not in agents:
                return head
        return None

    def expand_single(self, token: _Tok) -> list[int]:
        node = self.object_for(token)
        return [node] if node is not None else []

    def _verb(self, verb: _Tok) -> None:
        agents, passive = self._verb_subjects(verb)
        particles = [c for c in self.kids[verb.i] if c.dep_ == "prt"]
        words = [verb, *particles]
        lemma = verb.lemma_.lower()
        if " " in lemma:  # "horse ride": one action of two words keeps both
            first, _, rest = lemma.partition(" ")
            lemma = f"{first} {self.conv.verb_lemmas.get(verb.lower_, rest)}"
        else:
            lemma = self.conv.verb_lemmas.get(verb.lower_, lemma)
        label = " ".join([lemma] + [p.lower_ for p in particles])
        patients: list[int] = []
        prep_args: list[tuple[str, int]] = []
        by_agents: list[int] = []
        adverbs: list[_Tok] = []
        prep_spans: dict[str, list[_Tok]] = {}
        for child in self.kids[verb.i]:
            if child.dep_ in OBJECT_DEPS:
                patients += self.expand(child)
            elif child.dep_ == "prt":
                # "puts on his helmet": the small model hangs the object on the particle.
                for pobj in (c for c in self.kids[child.i] if c.dep_ == "pobj"):
                    patients += self.expand(pobj)
            elif self._is_by_agent(verb, child):
                for pobj in (c for c in self.kids[child.i] if c.dep_ == "pobj"):
                    by_agents += self.expand(pobj)
            elif child.dep_ in ("prep", "agent") or self._is_prep_adverb(child):
                # "talking about deforestation and about climate change": both phrases.
                for prep in [child, *self._conjoined_preps(child)]:
                    prep_label, objects, prep_words = self.prep_targets(prep)
                    prep_spans[prep_label] = prep_words
                    for obj in objects:
                        prep_args += [(prep_label, node) for node in self.expand(obj)]
            elif child.lower_ in DIRECTION_WORDS and child.dep_ in (
                "advmod",
                "npadvmod",
                "acomp",
                "dobj",
                "oprd",
            ):
                adverbs.append(child)  # "moves right": the direction, whatever its tag
            elif child.dep_ == "neg":
                adverbs.append(child)  # "does not move": the negation stays with the verb
            elif child.dep_ == "advmod" and child.pos_ == "ADV":
                if child.lower_ not in NON_MANNER_ADVERBS and child.tag_ not in ("WRB",):
                    adverbs.append(child)
            elif child.dep_ == "acomp" and agents:
                for agent in agents:
                    for adjective in self._conjuncts(child):
                        self._attribute(agent, adjective)
        dangling = self.dangling_prep(verb)
        gap_target = self._gap_target(verb, agents)
        if dangling is not None and gap_target is not None:
            # "the water the bird is standing on" -> bird stand on water
            if dangling.dep_ == "prt":
                label = " ".join(label.split(" ")[:-1]) or label
            prep_args.append((dangling.lower_, gap_target))
            prep_spans.setdefault(dangling.lower_, [dangling])
        elif gap_target is not None and not patients and verb.dep_ == "relcl":
            patients.append(gap_target)  # "rope the man is holding"
        # "fries them in a pan": a pronoun object places nothing; the phrase is the verb's.
        noun_objects = [c for c in self.kids[verb.i] if c.dep_ in OBJECT_DEPS and c.pos_ != "PRON"]
        if patients and prep_args and not by_agents and noun_objects:
            # "holding a ball in the air": a phrase after the object places the object
            # (FACTUAL writes ball in air, not person hold in air); a path ("riding a bike
            # down the street") stays with the action.
            kept = []
            for preposition, target in prep_args:
                if preposition.split(" ")[0] in PATH_PREPOSITIONS or self._is_instrument(
                    lemma, preposition, target
                ):
                    kept.append((preposition, target))
                    continue
                # The relation's span is its preposition's; ``words`` stay the verb's.
                prep_words = prep_spans.get(preposition, [verb])
                for patient in patients:
                    self._relation(patient, preposition, target, prep_words)
            prep_args = kept
        if by_agents:
            # "the ball is hit by the man": the man is the agent, the ball the patient.
            patients = agents + patients
            agents = by_agents
        elif passive and verb.dep_ not in ("acl", "relcl"):
            pass  # "the fence is painted": the subject keeps the agent slot, as FACTUAL does
        if (
            not agents
            and not patients
            and not prep_args
            and not (" " in lemma and verb.dep_ == "ROOT")
        ):
            return  # (an action label of two words, "Arm wrestling", stands alone)
        node = self.add_node("predicate", label, self.span(words), lemma=lemma)
        self.predicates[verb.i] = _Predicate(node=node, token=verb.i, agents=agents)
        for agent in agents:
            self.add_edge(node, agent, "agent")
        for patient in patients:
            self.add_edge(node, patient, "patient")
        for preposition, target in prep_args:
            self.add_edge(node, target, "prep_arg", preposition)
        for adverb in adverbs:
            label = "not" if adverb.dep_ == "neg" else adverb.lower_  # "n't" -> not
            pred_attr = self.add_node("pred_attr", label, self.span([adverb]))
            self.add_edge(node, pred_attr, "pred_attr")

    def _noun_relations(self, token: _Tok) -> None:
        # A quantity noun's phrases describe what it counts: "a crowd of people behind a fence".
        subjects = self.expand_single(token)
        for child in self.kids[token.i]:
            if child.dep_ != "prep" and not self._is_prep_adverb(child):
                continue
            if token.i in self.dropped and child.lower_ == "of":
                continue
            label, objects, words = self.prep_targets(child)
            targets = [node for obj in objects for node in self.expand(obj)]
            if not targets:
                continue
            if label == "of":
                direction, _, predicate = self._of_reading(token).partition(":")
                for subject in subjects:
                    for target in targets:
                        owner, owned = (
                            (target, subject) if direction == "rev" else (subject, target)
                        )
                        if predicate == "have":
                            self._possession(owner, owned, child)
                        elif predicate:
                            self._relation(owner, predicate, owned, words)
                continue
            if objects and self._is_bare_relational(objects[0]):
                continue  # "windows on the front": FACTUAL keeps no fact for it
            own_back = self._back_reference(token, conjuncts=False)
            if label == "with" and objects and own_back is not None and own_back.i > child.i:
                back: _Tok | None = own_back  # "a cart with luggage on it", "on" under "cart"
            elif label == "with" and objects:
                back = self._back_reference(objects[0])
            else:
                back = None
            if back is not None:
                # "a plate with food on it": the food is on the plate.
                back_label, _, back_words = self.prep_targets(back)
                for subject in subjects:
                    for target in targets:
                        self._relation(target, back_label, subject, back_words)
                continue
            if token.dep_ == "conj" and label not in ("of", "with"):
                # "a vase and a candle holder on the table": both are on the table.
                first = token
                while first.dep_ == "conj" and first.head.i != first.i:
                    first = first.head
                if not any(c.dep_ == "conj" for c in self.kids[token.i]):
                    for subject in self.expand(first):
                        for target in targets:
                            self._relation(subject, label, target, words)
                    continue
            if self._back_reference(token) is child and token.head.lower_ == "with":
                continue  # read from the "with" side above
            if own_back is child and any(
                c.dep_ == "prep" and c.lower_ == "with" and c.i < child.i
                for c in self.kids[token.i]
            ):
                continue  # "a cart with luggage on it": read with the "with" phrase
            for subject in subjects:
                for target in targets:
                    self._relation(subject, label, target, words)

    def _back_reference(self, token: _Tok, conjuncts: bool = True) -> _Tok | None:
        """The preposition of "... on it" after a noun (or its last conjunct), if any."""
        chain = [token]
        while conjuncts:
            nxt = next((c for c in self.kids[chain[-1].i] if c.dep_ == "conj"), None)
            if nxt is None:
                break
            chain.append(nxt)
        for noun in chain:
            for child in self.kids[noun.i]:
                if child.dep_ == "prep" and any(
                    c.dep_ == "pobj" and c.lower_ in ("it", "them") for c in self.kids[child.i]
                ):
                    return child
        return None

    def _relation(self, subject: int, label: str, target: int, words: Sequence[_Tok]) -> None:
        if subject == target:
            return  # "a mint on it" resolved to the mint itself
        node = self.add_node("predicate", label, self.span(words), lemma=label)
        self.add_edge(node, subject, "agent")
        self.add_edge(node, target, "prep_arg", label)

    def _copulas(self) -> None:
        """ "the car is red", "the cup is on the table", "there is a plane in the sky"."""
        for verb in self.tokens:
            if verb.lemma_ != "be" or verb.dep_ in ("aux", "auxpass"):
                continue
            subjects: list[int] = []
            complements: list[_Tok] = []
            attrs: list[_Tok] = []
            preps: list[_Tok] = []
            for child in self.kids[verb.i]:
                if child.dep_ in ("nsubj", "nsubjpass"):
                    subjects += self.expand(child)
                elif child.dep_ == "acomp":
                    complements.append(child)
                elif child.dep_ == "attr":
                    attrs.append(child)
                elif child.dep_ == "prep":
                    preps.append(child)
            if not subjects and verb.dep_ in ("relcl", "acl") and verb.head.i in self.objects:
                subjects = [self.objects[verb.head.i]]
            expletive = not subjects
            if expletive:
                # "there is a plane in the sky": the attribute noun is the subject.
                for attr in attrs:
                    subjects += self.expand(attr)
            dangling = self.dangling_prep(verb)
            gap = self._gap_target(verb, subjects) if dangling is not None else None
            for subject in subjects:
                if dangling is not None and gap is not None:
                    self._relation(subject, dangling.lower_, gap, [dangling])
                for complement in complements:
                    for adjective in self._conjuncts(complement):
                        if adjective.pos_ in ("ADJ", "VERB", "NUM", "ADV"):
                            self._attribute(subject, adjective)
                    for prep in (c for c in self.kids[complement.i] if c.dep_ == "prep"):
                        self._prep_relation(subject, prep)
                for prep in preps:
                    self._prep_relation(subject, prep)
                if not expletive:
                    for attr in attrs:
                        if attr.pos_ == "ADJ":
                            self._attribute(subject, attr)

    def _prep_relation(self, subject: int, prep: _Tok) -> None:
        label, objects, words = self.prep_targets(prep)
        for obj in objects:
            for target in self.expand(obj):
                self._relation(subject, label, target, words)

    # -- time --------------------------------------------------------------------------------
    def build_temporal(self) -> None:
        """Order the verb predicates.

        The words that state an order are read where they stand in the caption, since the
        small model often hangs the clauses wrongly ("A, then B" read with A a complement of
        B, "B after A" with the "after" under B's object): a sequencer ("then", "after that",
        "afterwards", ...) in front of a clause puts the clause before it after the one before
        it, even across sentences ("A. Then B."); a conjunction in front of a clause ("after",
        "before", "until", "while", "as", "when", ...) relates it to the clause it depends on,
        or to the main clause after it when it opens the sentence ("After A, B"). A sequencer
        with no verb after it repeats the verb before it ("pours water, then sauce"). Pairs
        no word orders fall back on the parse: conjoined verbs of one subject in clause order,
        participles of the same subject overlapping.
        """
        ordered: set[frozenset[int]] = set()
        self._sequencers_used: set[int] = set()
        self._sentences: list[int] = []
        sentence = 0
        for token in self.tokens:
            self._sentences.append(sentence)
            if token.lower_ in (".", "!", "?"):
                sentence += 1
        for verb_i in sorted(self.predicates):
            self._order_clause(self.tokens[verb_i], ordered)
        for token in self.tokens:
            if token.lower_ in SEQUENCERS and token.i not in self._sequencers_used:
                self._gapped_predicate(token, ordered)
        for predicate in sorted(self.predicates.values(), key=lambda p: p.token):
            self._order_by_parse(predicate, ordered)

    def _order(self, first: _Tok, second: _Tok, kind: str, ordered: set[frozenset[int]]) -> None:
        a, b = self.predicates[first.i].node, self.predicates[second.i].node
        if a != b:
            ordered.add(frozenset((a, b)))
            self.add_edge(a, b, kind)

    def _clause_start(self, verb: _Tok) -> int:
        """The first token of a verb's clause: its subject's (or auxiliary's) first word."""
        start = verb.i
        for child in self.kids[verb.i]:
            if child.i < verb.i and child.dep_ in CLAUSE_OPENING_DEPS:
                start = min(start, min(self.subtree(child)))
        return start

    def _connectives(self, verb: _Tok) -> list[_Tok]:
        """The order words in front of a verb's clause ("and then", ", after that ,", "while"),
        and a sequencer between its subject and the verb ("the cube then moves")."""
        start = self._clause_start(verb)
        found: list[_Tok] = []
        j = start - 1
        while j >= 0:
            token = self.tokens[j]
            lower = token.lower_
            if lower in SEQUENCERS or lower in SUBORDINATORS:
                found.append(token)
            elif lower in ("that", "this") and j > 0 and self.tokens[j - 1].lower_ in BEFORE_AFTER:
                found.append(self.tokens[j - 1])  # "after that": a sequencer
                j -= 1
            elif not (token.is_punct or token.dep_ == "cc" or lower in ("and", "but", "first")):
                break
            j -= 1
        for token in self.tokens[start + 1 : verb.i]:
            if token.lower_ in SEQUENCERS and token.head is verb:
                found.append(token)
        return found

    def _governor(self, before: int, sentence_only: bool) -> _Tok | None:
        """The verb a clause at token ``before`` follows: the last predicate verb before it,
        preferring main clauses to relative clauses and participles of nouns."""
        sentence = self._sentences[before]
        earlier = [
            self.tokens[i]
            for i in sorted(self.predicates)
            if i < before and (not sentence_only or self._sentences[i] == sentence)
        ]
        main = [t for t in earlier if t.dep_ not in ("relcl", "acl", "amod", "xcomp")]
        chosen = main or earlier
        return chosen[-1] if chosen else None

    def _main_after(self, verb: _Tok) -> _Tok | None:
        """The main clause after a sentence-opening subordinate clause ("After A, B")."""
        sentence = self._sentences[verb.i]
        later = [
            self.tokens[i]
            for i in sorted(self.predicates)
            if i > verb.i and self._sentences[i] == sentence
        ]
        after_comma = [
            t for t in later if any(self.tokens[k].lower_ in (",", ";") for k in range(verb.i, t.i))
        ]
        found = after_comma or later
        return found[0] if found else None

    def _order_clause(self, verb: _Tok, ordered: set[frozenset[int]]) -> None:
        if verb.dep_ == "xcomp":
            return  # "returns later to add": a purpose, not a next event
        for word in self._connectives(verb):
            lower = word.lower_
            if lower in SEQUENCERS or (lower in ("after", "before") and self._is_anaphoric(word)):
                earlier = self._governor(self._clause_start(verb), sentence_only=False)
                if earlier is None:
                    continue
                self._sequencers_used.add(word.i)
                if lower == "before":  # "before that, B": B came first
                    self._order(verb, earlier, "before", ordered)
                else:
                    self._order(earlier, verb, "before", ordered)
                return
            relation = SUBORDINATORS[lower]
            main = self._governor(word.i, sentence_only=True)
            opening = main is None
            if opening:
                main = self._main_after(verb)
            if main is None:
                continue
            if relation == "overlaps":
                self._order(main, verb, "overlaps", ordered)
            elif relation == "after":  # "B after A", "After A, B": A first
                self._order(verb, main, "before", ordered)
            else:  # "A before B", "A until B", "Before B, A"
                self._order(main, verb, "before", ordered)
            return

    def _is_anaphoric(self, word: _Tok) -> bool:
        """ "after that" / "before this": the preposition points back at the clause before."""
        following = self.tokens[word.i + 1] if word.i + 1 < len(self.tokens) else None
        return following is not None and following.lower_ in ("that", "this")

    def _gapped_predicate(self, word: _Tok, ordered: set[frozenset[int]]) -> None:
        """ "drives a car onto a field and then back to the street", "pours water, then
        sauce": a sequencer before words with no verb of their own repeats the verb before it.
        The new predicate has that verb's label, span and agents, takes the words after the
        sequencer as its arguments (they leave the first predicate), and comes after it."""
        remnant = word.head
        if remnant is word or remnant.i < word.i or remnant.i in self.predicates:
            return
        verb = remnant.head
        while verb.i not in self.predicates and verb.head is not verb and verb.dep_ != "ROOT":
            verb = verb.head
        if verb.i not in self.predicates or verb.i > word.i:
            return
        first = self.predicates[verb.i]
        old = self.nodes[first.node]
        moved: list[tuple[int, str, str | None]] = []  # (target, edge type, preposition)
        adverbs: list[_Tok] = []
        if remnant.dep_ == "prep":
            label, objects, _ = self.prep_targets(remnant)
            moved += [(node, "prep_arg", label) for obj in objects for node in self.expand(obj)]
        elif self.object_for(remnant) is not None:
            for node in self.expand_single(remnant):
                kind = "patient"
                for edge in self.edges:
                    if edge["source"] == first.node and edge["target"] == node:
                        kind = edge["type"]
                        moved.append((node, kind, edge["preposition"]))
                        break
                else:
                    moved.append((node, kind, None))
        elif remnant.lower_ in DIRECTION_WORDS or remnant.pos_ == "ADV":
            adverbs.append(remnant)
            for child in self.kids[remnant.i]:
                if child.dep_ == "prep":
                    label, objects, _ = self.prep_targets(child)
                    moved += [
                        (node, "prep_arg", label) for obj in objects for node in self.expand(obj)
                    ]
        if not moved and not adverbs:
            return
        node = self.add_node("predicate", old["label"], old["span"], lemma=old["lemma"])
        for agent in first.agents:
            self.add_edge(node, agent, "agent")
        for target, kind, preposition in moved:
            self._drop_edge(first.node, target)
            self.add_edge(node, target, kind, preposition if kind == "prep_arg" else None)
        for adverb in adverbs:
            pred_attr = self.add_node("pred_attr", adverb.lower_, self.span([adverb]))
            self.add_edge(node, pred_attr, "pred_attr")
        ordered.add(frozenset((first.node, node)))
        self.add_edge(first.node, node, "before")
        self._sequencers_used.add(word.i)

    def _drop_edge(self, source: int, target: int) -> None:
        kept = []
        for edge in self.edges:
            if edge["source"] == source and edge["target"] == target:
                self.edge_keys.discard((source, target, edge["type"], edge["preposition"]))
            else:
                kept.append(edge)
        self.edges[:] = kept

    def _order_by_parse(self, predicate: _Predicate, ordered: set[frozenset[int]]) -> None:
        """Order a verb no word orders from the parse: a conjoined verb of the same subject
        after the first, a participle or "while" clause overlapping its head."""
        verb = self.tokens[predicate.token]
        head = verb.head
        markers = {
            c.lower_ for c in self.kids[verb.i] if c.dep_ in ("advmod", "mark", "cc", "prep")
        }
        if verb.dep_ == "pcomp" and head.dep_ == "prep":
            if head.lower_ in ("about", "of", "on", "for"):
                return  # "talks about cooking pasta": a topic, not an event
            markers.add(head.lower_)  # "before running": the preposition is the marker
            head = head.head
        if head.i == verb.i or head.i not in self.predicates:
            return
        other = self.predicates[head.i]
        if frozenset((other.node, predicate.node)) in ordered:
            return
        if verb.dep_ == "conj":
            if markers & OVERLAP_MARKERS:
                self.add_edge(other.node, predicate.node, "overlaps")
            elif set(predicate.agents) == set(other.agents):
                # "picks up the box and leaves": one subject's actions in the order told.
                self.add_edge(other.node, predicate.node, "before")
        elif verb.dep_ in ("advcl", "prep", "pcomp"):
            if markers & {"after", "once"}:
                self.add_edge(predicate.node, other.node, "before")
            elif markers & {"before", "until"}:
                self.add_edge(other.node, predicate.node, "before")
            elif markers & OVERLAP_MARKERS or verb.tag_ == "VBG":
                self.add_edge(other.node, predicate.node, "overlaps")
            elif markers & SEQUENCERS:
                self.add_edge(other.node, predicate.node, "before")

    def build(self, item_id: str) -> dict[str, Any]:
        self.build_objects()
        self.build_predicates()
        self.build_attributes()
        self.build_temporal()
        return _record(item_id, self.text, self.nodes, self.edges)


def _record(
    item_id: str, text: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> dict[str, Any]:
    """A TSG record as plain data, keys in the schema's order (what ``model_dump`` gives)."""
    return {
        "schema_version": TSG.SCHEMA_VERSION,
        "record": "tsg",
        "id": item_id,
        "text": text,
        "nodes": nodes,
        "edges": edges,
    }


def tsg_record(
    doc: Doc,
    item_id: str,
    conventions: Conventions | None = None,
    text: str | None = None,
    lemmas: LemmaCache | None = None,
) -> dict[str, Any]:
    """The TSG of one Doc as a JSON-ready dict, not validated: the stage's fast path.

    The rules only build well-formed graphs (ids are positions, spans lie in the text, edges
    join the node types their type names); :func:`parse_doc` validates the same record.
    ``text`` is the string the Doc was made from, when the caller has it (``Doc.text`` joins
    the tokens again on every read). ``lemmas`` fills the lemmas of a Doc parsed without the
    lemmatizer (:class:`LemmaCache`).
    """
    conv = conventions if conventions is not None else load_conventions()
    text = doc.text if text is None else text
    if not text.strip():
        return _record(item_id, text, [], [])
    return _GraphBuilder(doc, conv, text, lemmas).build(item_id)


def parse_doc(doc: Doc, item_id: str, conventions: Conventions | None = None) -> TSG:
    """The TSG of one spaCy Doc."""
    return TSG.model_validate(tsg_record(doc, item_id, conventions))


def parse_docs(
    docs: Iterable[Doc],
    ids: Iterable[str] | None = None,
    *,
    conventions: Conventions | None = None,
) -> Iterator[TSG]:
    """TSGs of already parsed Docs; ids default to 1, 2, ... (line numbers)."""
    conv = conventions if conventions is not None else load_conventions()
    id_iter = iter(ids) if ids is not None else (str(n) for n in _count_from(1))
    for doc in docs:
        item_id = next(id_iter, None)
        if item_id is None:
            raise ValueError("parse_docs: fewer ids than texts")
        yield parse_doc(doc, item_id, conv)


def _count_from(start: int) -> Iterator[int]:
    n = start
    while True:
        yield n
        n += 1


def parse_texts(
    texts: Iterable[str],
    ids: Iterable[str] | None = None,
    *,
    nlp: Language | None = None,
    spacy_model: str | None = None,
    batch_size: int = 256,
    n_process: int = 1,
    conventions: Conventions | None = None,
    max_chars: int = MAX_CHARS_DEFAULT,
) -> Iterator[TSG]:
    """Parse captions into TSGs lazily, in order, with ``nlp.pipe`` batching.

    Captions longer than ``max_chars`` are cut there (with a warning) so that one huge line
    cannot stall a batch; the TSG keeps the cut text. ``ids`` default to 1, 2, ...
    """
    pipeline = nlp if nlp is not None else load_nlp(spacy_model)
    bounded = (bound_text(text, max_chars, f"caption {n}") for n, text in enumerate(texts, start=1))
    docs = pipeline.pipe(bounded, batch_size=batch_size, n_process=n_process)
    yield from parse_docs(docs, ids, conventions=conventions)


def bound_text(text: str, max_chars: int, where: str | None = None) -> str:
    """``text`` cut to ``max_chars`` characters, with a warning when it was longer."""
    if len(text) <= max_chars:
        return text
    log.warning("%s has %d characters: cut to %d", where or "caption", len(text), max_chars)
    return text[:max_chars]
