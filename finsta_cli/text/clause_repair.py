"""Clause repair: clauses and fragments the small spaCy model attaches wrongly, mended in place.

:func:`repair_clauses` runs one rule per mistake (named after it, e.g.
``_verb_read_as_clothes``) over the copied tokens;
:func:`~finsta_cli.text.verb_repair.repair_verbs` calls it after re-reading the verbs.
"""

from __future__ import annotations

from finsta_cli.text.tokens import Tok, children_of, take_place
from finsta_cli.text.verb_lexicon import VERB_LEMMAS, as_gerund_verb, gerund_lemma
from finsta_cli.text.words import (
    ACTION_PREPOSITIONS,
    COLOUR_WORDS,
    COMPANION_NOUNS,
    FINITE_TAGS,
    GERUND_MODIFIED_NOUNS,
    INCORPORATED_OBJECTS,
    INDEFINITE_PEOPLE,
    INSTRUMENT_NOUNS,
    NON_INSTRUMENT_VERBS,
    NOUN_MODIFIER_DEPS,
    PERSON_NOUNS,
    SEQUENCERS,
    SHOWING_NOUNS,
    SUBORDINATORS,
)


def repair_clauses(tokens: list[Tok], nouns: frozenset[str]) -> None:
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
    # Only a word that heads two subjects can qualify; the rule moves subjects only to words
    # before the one it mends, so the heads found now are all it can act on.
    subject_heads = [token.head for token in tokens if token.dep_ == "nsubj"]
    if len(subject_heads) > 1:
        shared = [head for n, head in enumerate(subject_heads) if head in subject_heads[:n]]
        for token in tokens:
            if token in shared:
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
        lemma = gerund_lemma(action, nouns)
    if lemma is None:
        return
    if word.head is action and word.dep_ in ("compound", "nsubj"):
        pass
    elif action.head is word and action.dep_ == "acl":
        take_place(tokens, action, word)  # "friends video calling": "video" read as the root
    else:
        return
    as_gerund_verb(action, f"{word.lower_} {lemma}")
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
    lemma = action.lemma_.lower() if action.tag_ == "VBG" else gerund_lemma(action, nouns)
    if lemma is None or lemma not in VERB_LEMMAS or action.lower_ in nouns:
        return
    take_place(tokens, place, noun, before=place.i)
    as_gerund_verb(action, lemma)
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
        take_place(tokens, verb, governor, before=verb.i)
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
    take_place(tokens, verb, be)
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
