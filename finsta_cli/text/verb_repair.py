"""Verb repair: the small spaCy model's tagging and attachment mistakes mended on copied tokens.

:func:`repair_verbs` re-reads verbs tagged as plural nouns ("the cube slides"), gerunds,
clauses and directions in place, before the graph builder reads the tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from finsta_cli.text.tokens import Tok, children_of
from finsta_cli.text.words import (
    ACTION_PREPOSITIONS,
    CLAUSE_PREPOSITIONS,
    COLOUR_WORDS,
    COMPANION_NOUNS,
    DIRECTION_SIDES,
    DIRECTION_WORDS,
    INDEFINITE_PEOPLE,
    INSTRUMENT_NOUNS,
    MOTION_PREPOSITIONS,
    MOTION_SIDE_PREPOSITIONS,
    NON_INSTRUMENT_VERBS,
    NOUN_MODIFIER_DEPS,
    PERSON_NOUNS,
    SEQUENCERS,
    SHOWING_NOUNS,
    SUBORDINATORS,
)

if TYPE_CHECKING:
    from spacy.language import Language


# Verb lemmas of the loaded spaCy pipelines' lemmatizer tables (filled by load_nlp).
VERB_LEMMAS: set[str] = set()


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


def _gerund_lemma(token: Tok, nouns: frozenset[str]) -> str | None:
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


def _as_gerund_verb(verb: Tok, lemma: str) -> None:
    verb.pos_, verb.tag_, verb.lemma_, verb.plural, verb.verb = "VERB", "VBG", lemma, False, True


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
            and any(c.dep_ == "expl" for c in children_of(tokens, token.head))
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
        _take_place(tokens, verb, head, before=verb.i)
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


def _repair_clauses(tokens: list[Tok], nouns: frozenset[str]) -> None:
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


def _subject_taken_by_opening_clause(tokens: list[Tok], verb: Tok) -> None:
    """ "while the reporter talks footage of the fire is shown": the clause opening the
    caption took the main clause's subject as its object. A main verb without a subject, after
    a clause with a subordinator in front whose object ends right before the main verb's
    auxiliaries, gets that object as its subject."""
    if verb.head is not verb or verb.pos_ != "VERB":
        return
    kids = children_of(tokens, verb)
    start = min([verb.i, *(c.i for c in kids if c.dep_ in ("aux", "auxpass") and c.i < verb.i)])
    clause = next(
        (
            c
            for c in kids
            if c.dep_ in ("advcl", "csubj", "csubjpass")  # "as A talks images ... are shown"
            and c.i < start
            and any(
                m.dep_ == "mark" and m.lower_ in SUBORDINATORS and m.i < c.i
                for m in children_of(tokens, c)
            )
        ),
        None,
    )
    if clause is None or any(
        c.dep_ in ("nsubj", "nsubjpass", "csubj", "expl") and c is not clause for c in kids
    ):
        return
    noun = next(
        (
            c
            for c in children_of(tokens, clause)
            if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")
        ),
        None,
    )
    if noun is None or noun.i < clause.i:
        return
    last = noun
    while children_of(tokens, last) and max(c.i for c in children_of(tokens, last)) > last.i:
        last = max(children_of(tokens, last), key=lambda c: c.i)
    if last.i != start - 1:
        return
    passive = any(c.dep_ == "auxpass" for c in kids) or verb.tag_ == "VBN"
    noun.dep_, noun.head = ("nsubjpass" if passive else "nsubj"), verb
    clause.dep_ = "advcl"


def _subject_and_two_word_action(tokens: list[Tok], action: Tok, nouns: frozenset[str]) -> None:
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
    for child in children_of(tokens, action) + children_of(tokens, subject):
        if child.i < subject.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = subject  # "two men": the number is the men's
    subject.dep_, subject.head = "nsubj", action


def _action_read_into_a_place_name(tokens: list[Tok], action: Tok, nouns: frozenset[str]) -> None:
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
    if lemma is None or lemma not in VERB_LEMMAS or action.lower_ in nouns:
        return
    _take_place(tokens, place, noun, before=place.i)
    _as_gerund_verb(action, lemma)
    action.dep_, action.head = "acl", place
    noun.dep_, noun.head = "dobj", action


def _verb_read_as_clothes(tokens: list[Tok], verb: Tok) -> None:
    """ "a woman in black puts on lipstick", "a boy in blue kicks a ball": the verb after a
    colour read as the noun the person is in ("in black puts"). The colour is what they are
    in; the verb is the sentence's, with the person as subject and the words after it."""
    if verb.dep_ != "pobj" or verb.tag_ not in ("NNS", "NNPS") or verb.i < 2:
        return
    colour, prep = tokens[verb.i - 1], verb.head
    if colour.lower_ not in COLOUR_WORDS or colour.head is not verb or prep.lower_ != "in":
        return
    lemma = verb.lemma_.lower()
    if lemma not in VERB_LEMMAS or any(c.i > verb.i for c in children_of(tokens, verb)):
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
    for child in children_of(tokens, owner):
        if child.i > verb.i:
            child.head = verb  # "puts on lipstick", "jumps over a fence"


def _gerund_read_as_adjective(tokens: list[Tok], gerund: Tok) -> None:
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


SHOWING_VERBS = frozenset({
    "show", "feature", "depict", "play", "start", "begin", "end", "display", "include",
    "contain", "star", "focus", "describe", "explain", "present", "demonstrate", "highlight",
    "capture", "compare", "have", "be", "open", "close", "cover", "discuss", "tell", "introduce",
    "advertise", "promote", "review", "teach", "give", "provide", "use", "talk", "come", "go",
    "continue", "change", "fade", "load", "zoom", "pan", "cut", "consist", "involve", "run",
})  # fmt: skip


def _action_given_to_a_video(tokens: list[Tok], verb: Tok) -> None:
    """ "a scene with soldiers in uniforms marching", "a movie clip showing a man and women in
    dresses dancing": the small model gives the action to the video or scene. The action
    belongs to the nouns before it that can act (the soldiers; the man and women, not the
    dresses they are in)."""
    if verb.tag_ != "VBG" or verb.pos_ != "VERB" or verb.lemma_.lower() in SHOWING_VERBS:
        return
    subject = next(
        (c for c in children_of(tokens, verb) if c.dep_ == "nsubj" and c.i < verb.i), None
    )
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
            candidate = next((c for c in children_of(tokens, place) if c.dep_ == "dobj"), None)
    if candidate is None or candidate.lower_ in SHOWING_NOUNS:
        return
    while candidate.dep_ == "conj" and candidate.head.pos_ in ("NOUN", "PROPN"):
        candidate = candidate.head  # "a man and women": both
    if verb.head is verb:
        subject.dep_, subject.head = "ROOT", subject
    verb.dep_, verb.head = "acl", candidate


def _second_subject_after_with(tokens: list[Tok], verb: Tok) -> None:
    """ "a woman with blonde hair and a black shirt is talking": "shirt" read as a second
    subject of "talking". Two subjects for one verb, the first with a "with" phrase before
    "and" the second: the second is joined to the object of "with" (a person, to the first
    subject)."""
    subjects = [c for c in children_of(tokens, verb) if c.dep_ == "nsubj" and c.i < verb.i]
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


def _tool_on_the_object(tokens: list[Tok], prep: Tok) -> None:
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
        for c in children_of(tokens, prep)
    ):
        prep.head = verb


def _phrase_on_something(tokens: list[Tok], prep: Tok) -> None:
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


def _topic_read_on_a_place(tokens: list[Tok], about: Tok) -> None:
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


def _participle_clause_read_as_noun(tokens: list[Tok], noun: Tok) -> None:
    """ "a woman dancing while a man in a suit playing piano": the clause after "while" read
    as the noun "man" (with "while" its marker) and "playing" a participle of "suit". The
    participle heads the clause, the noun is its subject."""
    if noun.pos_ not in ("NOUN", "PROPN") or noun.dep_ != "advcl":
        return
    marks = [c for c in children_of(tokens, noun) if c.dep_ == "mark" and c.lower_ in SUBORDINATORS]
    if not marks:
        return
    participle = None
    frontier = [noun]
    for _ in range(3):  # the noun, its phrase ("in a suit"), the phrase's object
        frontier = [c for t in frontier for c in children_of(tokens, t) if c.i > noun.i]
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


def _compound_subject(tokens: list[Tok], verb: Tok) -> None:
    """ "a girl dancing", "there is a man dancing": a noun read as a compound of the -ing verb
    right after it, the verb without a subject: the noun is the subject."""
    if verb.pos_ != "VERB" or verb.tag_ != "VBG" or verb.i == 0 or verb.dep_ == "compound":
        return
    if " " in verb.lemma_:
        return  # "Arm wrestling": "arm" is part of the action
    noun = tokens[verb.i - 1]
    if noun.head is not verb or noun.dep_ != "compound" or noun.pos_ not in ("NOUN", "PROPN"):
        return
    kids = children_of(tokens, verb)
    if any(c.dep_ in ("nsubj", "nsubjpass", "csubj") for c in kids):
        return
    noun.dep_ = "nsubj"
    for child in kids:
        if child.i < noun.i and child.dep_ in NOUN_MODIFIER_DEPS:
            child.head = noun  # "a girl": the determiner is the girl's


def _progressive_read_as_adjective(tokens: list[Tok], verb: Tok) -> None:
    """ "women are modeling clothes": an -ing word right after "be", read as an adjective of
    the noun after it, is the verb; "be" is its auxiliary and the noun its object."""
    if verb.tag_ != "VBG" or verb.dep_ != "amod" or verb.i == 0:
        return
    noun = verb.head
    be = tokens[verb.i - 1]
    if noun.i <= verb.i or noun.dep_ not in ("attr", "dobj") or noun.head is not be:
        return
    if be.lemma_ != "be" or not any(
        c.dep_ == "nsubj" and c.i < be.i for c in children_of(tokens, be)
    ):
        return
    if any(t.dep_ in ("det", "poss", "nummod") for t in tokens[verb.i + 1 : noun.i]):
        return
    _take_place(tokens, verb, be)
    verb.pos_, verb.verb = "VERB", True
    be.dep_, be.head, be.pos_ = "aux", verb, "AUX"
    noun.dep_, noun.head = "dobj", verb


def _clause_read_as_relative(tokens: list[Tok], verb: Tok) -> None:
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
    kids = children_of(tokens, verb)
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
        for c in children_of(tokens, governor)
    )
    ordered = any(t.lower_ in SEQUENCERS for t in tokens[noun.i + 1 : verb.i])
    own_object = any(c.dep_ == "dobj" for c in kids)
    if opening:
        # "After A the game begins": the relative clause is the main clause.
        verb.dep_, verb.head = "ROOT", verb
        governor.dep_, governor.head = "advcl", verb
    elif ordered or own_object:
        verb.dep_, verb.head = "conj", governor


def _clause_after_preposition_object(tokens: list[Tok], verb: Tok) -> None:
    """ "kids laughing as a clown performs tricks": "as a clown" read as a phrase of
    "laughing" and "kids" as the subject of "performs". The noun right before the verb is its
    subject, "as" marks its clause, which depends on the -ing verb; "kids" heads the
    caption again."""
    if verb.pos_ != "VERB" or verb.tag_ not in FINITE_TAGS or verb.i == 0:
        return
    subject = next((c for c in children_of(tokens, verb) if c.dep_ == "nsubj"), None)
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


def _take_place(tokens: list[Tok], token: Tok, other: Tok, before: int | None = None) -> None:
    """``token`` takes ``other``'s place in the tree; ``other``'s dependents move to it (with
    ``before``, only those in front of that position)."""
    root = other.head is other
    token.dep_ = other.dep_
    token.head = token if root else other.head
    for child in children_of(tokens, other):
        if child is not token and (before is None or child.i < before):
            child.head = token


def register_verb_lexicon(nlp: Language) -> None:
    """Add the verb lemmas of ``nlp``'s lemmatizer tables (WordNet's, in spaCy's English models).

    The verb repair (:func:`repair_verbs`) reads them to tell "slides" the verb from "slides"
    the noun when the small model tags a verb as a plural noun.
    """
    if "lemmatizer" not in nlp.pipe_names:
        return
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return
    verbs = lookups.get_table("lemma_index").get("verb")
    if verbs:
        VERB_LEMMAS.update(str(verb) for verb in verbs)
