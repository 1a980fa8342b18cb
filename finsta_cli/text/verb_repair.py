"""Verb repair: the small spaCy model's tagging and attachment mistakes mended on copied tokens.

:func:`repair_verbs` re-reads verbs tagged as plural nouns ("the cube slides"), gerunds and
directions in place, then the clauses (:mod:`~finsta_cli.text.clause_repair`), before the graph
builder reads the tree.
"""

from __future__ import annotations

from finsta_cli.text.clause_repair import repair_clauses
from finsta_cli.text.tokens import Tok, children_of, take_place
from finsta_cli.text.verb_lexicon import VERB_LEMMAS, as_gerund_verb, gerund_lemma
from finsta_cli.text.words import (
    CLAUSE_PREPOSITIONS,
    DIRECTION_SIDES,
    DIRECTION_WORDS,
    FINITE_TAGS,
    GERUND_MODIFIED_NOUNS,
    INCORPORATED_OBJECTS,
    MOTION_PREPOSITIONS,
    MOTION_SIDE_PREPOSITIONS,
    NOUN_MODIFIER_DEPS,
    PERSON_NOUNS,
)


def _verb_evidence(token: Tok, tokens: list[Tok], nouns: frozenset[str]) -> bool:
    """Whether a plural-looking noun after a singular noun is the sentence's verb.

    Structure says so when it has a subject, a particle, an object or a clause marker of its
    own, when the word it is the subject of is a direction ("moves left": "left" read as a
    verb), or when it follows a verb's "after" / "before" / "while". Otherwise
    the word must not be one FACTUAL's train split names as an object, or, when it is ("heads",
    "leaves"), be followed by a direction or a preposition of motion ("heads for the ball").
    """
    kids = children_of(tokens, token)
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
        c.dep_ == "nsubj" and c.i > token.i for c in children_of(tokens, token.head)
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


def repair_verbs(tokens: list[Tok], nouns: frozenset[str]) -> None:
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
    verbs = VERB_LEMMAS
    for token in tokens:
        if token.dep_ == "nsubj" and token.head is not token and token.head.pos_ == "VERB":
            # "The pink cone stays": a determiner or adjective hung on the verb before its
            # subject belongs to the subject.
            for child in children_of(tokens, token.head):
                if child.i < token.i and child.dep_ in ("det", "amod", "nummod", "predet"):
                    child.head = token
    # Two passes: a verb re-read in the first may be the evidence for one before it ("the star
    # crosses ...; after that, the cylinder moves right", "moves" re-read from a noun).
    ending_in_s = [token for token in tokens[1:] if token.lower_.endswith("s")]
    for _ in range(2):
        for token in ending_in_s:
            if token.verb:
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
                if any(c.dep_ in ("nsubj", "nsubjpass") for c in children_of(tokens, token)):
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
    # The checks in front of each call are the first test of the function called, which
    # leaves the tested token's own attributes alone (the rules run on every caption).
    for token in tokens:
        if token.pos_ == "VERB":
            _subject_from_preposition(tokens, token)
            _split_clauses(tokens, token)
    for token in tokens:
        if token.tag_ == "NN":
            _plural_subject_verb(tokens, token, verbs)
    for token in tokens:
        if token.tag_ == "NNS" and token.dep_ == "conj":
            _verb_read_as_conjoined_object(tokens, token, nouns)
    repair_clauses(tokens, nouns)
    for token in tokens:
        if token.pos_ == "VERB" and token.i + 1 < len(tokens):
            _attach_direction(tokens, token)
        elif token.lower_ in DIRECTION_SIDES and token.dep_ == "pobj":
            _attach_side(token)


def _repair_gerunds(tokens: list[Tok], nouns: frozenset[str]) -> None:
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
        if token.tag_ not in ("NN", "NNP", "VBG"):
            continue  # neither test below can hold (gerund_lemma reads nouns only)
        lemma = gerund_lemma(token, nouns) if token.dep_ != "conj" else None
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
        kids = children_of(tokens, token)
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
                take_place(tokens, before, noun, before=before.i)
                as_gerund_verb(token, lemma)
                token.dep_, token.head = "acl", before
                noun.dep_, noun.head = "dobj", token
            elif token.i == 0 and noun.dep_ == "ROOT" and not _has_verb(tokens):
                # "Poking frog": an action label.
                take_place(tokens, token, noun, before=token.i)
                as_gerund_verb(token, lemma)
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
            take_place(tokens, compound, token)
            as_gerund_verb(token, lemma)
            token.dep_, token.head = "acl", owner
            for child in kids:
                if child.i > token.i and child.dep_ == "conj":
                    child.head = token  # "singing and dancing"
        elif (
            token.dep_ == "attr"
            and token.head.lemma_ == "be"
            and any(c.dep_ == "expl" for c in children_of(tokens, token.head))
        ):
            # "there is a man dancing": the man is the one dancing.
            as_gerund_verb(token, lemma)
            compound.dep_ = "nsubj"
        elif (token.dep_ == "attr" and token.head.lemma_ == "be") or (
            token.dep_ == "ROOT" and compound.lower_ in INCORPORATED_OBJECTS
        ):
            # "two boys are arm wrestling", "Arm wrestling": one action of two words.
            as_gerund_verb(token, f"{compound.lower_} {lemma}")
            head = token.head
            if token.dep_ == "attr":
                take_place(tokens, token, head)
                head.dep_, head.pos_, head.head = "aux", "AUX", token
        elif token.dep_ == "ROOT":
            # "zebra grazing on grass": a subject and its action.
            as_gerund_verb(token, lemma)
            compound.dep_ = "nsubj"
    for token in tokens:
        if token.dep_ != "conj":
            continue
        lemma = gerund_lemma(token, nouns)
        if lemma is None or token.head.verb or token.head.pos_ == "VERB":
            if lemma is not None:
                as_gerund_verb(token, lemma)  # "laughing and dancing"
            continue
        earlier = [t for t in tokens[: token.i] if t.pos_ == "VERB" and t.tag_.startswith("VB")]
        as_gerund_verb(token, lemma)
        if earlier:
            governor = earlier[-1]
            token.head, token.dep_ = governor, "conj"
            for child in children_of(tokens, governor):
                if child.i > token.i and child.dep_ in ("dobj", "prep"):
                    child.head = token  # "... and singing song": the song is sung
        else:
            owner = token.head
            while owner.dep_ not in ("ROOT", "nsubj") and owner.head is not owner:
                owner = owner.head
            if owner.pos_ in ("NOUN", "PROPN"):
                token.head, token.dep_ = owner, "acl"  # "a girl with a hat on and dancing"


def _has_verb(tokens: list[Tok]) -> bool:
    return any(t.pos_ in ("VERB", "AUX") for t in tokens)


def _split_clauses(tokens: list[Tok], verb: Tok) -> None:
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
        take_place(tokens, verb, head, before=verb.i)
        head.dep_, head.head = "conj", verb
    elif verb.dep_ == "conj" and head.pos_ in ("NOUN", "PROPN") and head.dep_ in ("dobj", "pobj"):
        governor = head.head
        while governor.pos_ not in ("VERB", "AUX") and governor.head is not governor:
            governor = governor.head
        if governor.pos_ not in ("VERB", "AUX") or governor.i > verb.i:
            return
        verb.head = governor
        for child in children_of(tokens, governor):
            if child.i > verb.i and child.dep_ in ("dobj", "prep", "advmod", "prt", "dative"):
                child.head = verb  # "... and a dog chases it": "it" is the dog's


def _plural_subject_verb(tokens: list[Tok], verb: Tok, verbs: set[str]) -> None:
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
    kids = children_of(tokens, verb)
    if not any(
        c.dep_ in ("dobj", "prt", "mark")
        or (c.dep_ in ("advcl", "conj") and c.pos_ == "VERB")
        or (c.dep_ == "prep" and c.lower_ in MOTION_PREPOSITIONS)
        for c in kids
    ):
        return
    _reread_as_verb(tokens, verb, subject, verb.lower_)
    verb.tag_ = "VBP"


def _verb_read_as_conjoined_object(tokens: list[Tok], verb: Tok, nouns: frozenset[str]) -> None:
    """ "a guy plays a video game and talks about it": "talks" read as a plural noun joined to
    the object ("a game and talks"). After "and", with a phrase or object of its own, a word
    whose lemma is a verb and that FACTUAL does not name as a thing is the verb joined to the
    verb before, in the same form ("plays ... and talks")."""
    if verb.tag_ != "NNS" or verb.dep_ != "conj" or verb.lower_ in nouns or verb.i < 2:
        return
    lemma = verb.lemma_.lower()
    if lemma not in VERB_LEMMAS or tokens[verb.i - 1].lower_ != "and":
        return
    kids = children_of(tokens, verb)
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


def _subject_from_preposition(tokens: list[Tok], verb: Tok) -> None:
    """ "the ring travels down after the cylinder comes in": the small model reads "after the
    cylinder" as a phrase of the first verb and leaves "comes" a clause without a subject.
    A finite verb with no subject right after the object of a clause preposition takes that
    object as its subject, and the preposition marks its clause."""
    if verb.pos_ != "VERB" or verb.tag_ not in ("VBZ", "VBP", "VBD") or verb.i == 0:
        return
    if any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in children_of(tokens, verb)):
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


def _attach_side(side: Tok) -> None:
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


def _attach_direction(tokens: list[Tok], verb: Tok) -> None:
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
        children = children_of(tokens, word)
        if any(c.dep_ == "prep" and c.lower_ not in CLAUSE_PREPOSITIONS for c in children):
            return  # "leading down to the lot": a preposition of its own ("down to")
        for child in children:
            child.head = verb  # "moves left before ...": the clause hangs on the motion
    elif word.head.lower_ in CLAUSE_PREPOSITIONS and not children_of(tokens, word):
        word.head = verb
    else:
        return
    word.dep_, word.pos_ = "advmod", "ADV"


def _reread_as_verb(tokens: list[Tok], verb: Tok, subject: Tok, lemma: str) -> None:
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBZ", lemma, False, True
    subject.dep_, subject.head = "nsubj", verb
    for child in children_of(tokens, verb):
        if child.i < subject.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = subject  # "The purple [star slides]": the modifiers are the star's
    head = verb.head
    if verb.dep_ == "nsubj" and head is not verb:
        if head.lower_ in DIRECTION_WORDS:
            # "moves left" read as "moves" the subject of the verb "left".
            take_place(tokens, verb, head)
            head.dep_, head.pos_, head.head = "advmod", "ADV", verb
        elif head.pos_ in ("VERB", "AUX") and head.i > verb.i:
            # "the cube heads for the ball, and the cone does not move": two clauses; the
            # second keeps its own words ("the cube enters after the star moves up").
            take_place(tokens, verb, head, before=verb.i)
            head.dep_, head.head = "conj", verb
    elif verb.dep_ == "pobj" and head.lower_ in CLAUSE_PREPOSITIONS and head.head is not head:
        # "after the cube moves right": the preposition marks the clause.
        governor = head.head
        verb.dep_, verb.head = "advcl", governor
        head.dep_, head.head = "mark", verb
        for child in children_of(tokens, governor):
            if child.i > verb.i and child.dep_ in ("dobj", "prt", "dative"):
                child.head = verb  # "cheer as a runner crosses the finish line"
    following = tokens[verb.i + 1] if verb.i + 1 < len(tokens) else None
    if (
        following is not None
        and following.lower_ in DIRECTION_WORDS
        and following.head is not verb
        and following.dep_ in ("advmod", "npadvmod", "amod", "dobj", "acomp")
        and not children_of(tokens, following)
    ):
        following.dep_, following.head = "advmod", verb  # "moves right" attached elsewhere
