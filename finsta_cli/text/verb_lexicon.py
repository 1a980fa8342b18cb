"""The verb lexicon of the loaded spaCy pipelines, and -ing words read as verbs with it.

:func:`register_verb_lexicon` fills :data:`VERB_LEMMAS` from a pipeline's lemmatizer tables
(``load_nlp`` calls it); the verb and clause repairs look words up there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from finsta_cli.text.tokens import Tok

if TYPE_CHECKING:
    from spacy.language import Language


# Verb lemmas of the loaded spaCy pipelines' lemmatizer tables (filled by load_nlp).
VERB_LEMMAS: set[str] = set()
NOT_GERUNDS = frozenset({"being", "thing", "nothing", "anything", "everything", "something"})


def gerund_lemma(token: Tok, nouns: frozenset[str]) -> str | None:
    """The verb of an -ing word the small model tagged a noun ("dancing", "wrestling"), or
    None when the word is also a name of things (FACTUAL's nouns: "building", "painting")."""
    word = token.lower_
    if not word.endswith("ing") or len(word) < 6 or word in nouns or word in NOT_GERUNDS:
        return None
    if token.tag_ not in ("NN", "NNP") or token.verb:
        return None
    stem = word[:-3]
    for lemma in (stem, stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else "", stem + "e"):
        if lemma and lemma in VERB_LEMMAS:
            return lemma
    return None


def as_gerund_verb(verb: Tok, lemma: str) -> None:
    """Re-read ``verb`` as the -ing form of the verb ``lemma``, in place."""
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBG", lemma, False, True


def register_verb_lexicon(nlp: Language) -> None:
    """Add the verb lemmas of ``nlp``'s lemmatizer tables (WordNet's, in spaCy's English models).

    The verb repair (:func:`~finsta_cli.text.verb_repair.repair_verbs`) reads them to tell
    "slides" the verb from "slides" the noun when the small model tags a verb as a plural noun.
    """
    if "lemmatizer" not in nlp.pipe_names:
        return
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return
    verbs = lookups.get_table("lemma_index").get("verb")
    if verbs:
        VERB_LEMMAS.update(str(verb) for verb in verbs)
