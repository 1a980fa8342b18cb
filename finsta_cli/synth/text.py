"""Captions, hard negatives and QA of the synthetic benchmark, written from a scene's events.

Every sentence is built from structured facts (see ``Fact`` in synth.records) with a template
and a choice of wording per clause, so that a hard negative is the same template and wording
with one aspect changed: a direction or spatial relation (spatial), the order of two events
(temporal), the colour of one object (attribute) or its class (object). Each caption is checked
to hold, each negative to fail, and each multiple-choice distractor to be false, by the
ground-truth checker in synth.check.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finsta_cli.synth.check import GroundTruth
from finsta_cli.synth.render import COLOURS, SHAPES
from finsta_cli.synth.scene import DIRECTIONS, OPPOSITE, Event, Scene

Fact = dict[str, Any]

SIDE_WORD = {"left": "left", "right": "right", "up": "top", "down": "bottom"}
MOVE_VP = {
    "left": ("moves left", "slides to the left", "travels leftward", "heads left"),
    "right": ("moves right", "slides to the right", "travels rightward", "heads right"),
    "up": ("moves up", "slides upward", "travels up", "heads up"),
    "down": ("moves down", "slides downward", "travels down", "heads down"),
}
VP: dict[str, tuple[str, ...]] = {
    "still": ("stays still", "does not move", "remains in place", "stays where it is"),
    "approach": ("moves toward {o}", "slides toward {o}", "approaches {o}", "heads for {o}"),
    "retreat": (
        "moves away from {o}",
        "slides away from {o}",
        "backs away from {o}",
        "drifts away from {o}",
    ),
    "enter": ("enters from the {side}", "comes in from the {side}", "appears from the {side}"),
    "leave": (
        "leaves the frame to the {side}",
        "exits on the {side}",
        "moves out of view to the {side}",
    ),
    "collide": ("hits {o}", "collides with {o}", "bumps into {o}", "runs into {o}"),
    "pass_front": ("passes in front of {o}", "crosses in front of {o}", "moves in front of {o}"),
    "pass_behind": ("passes behind {o}", "crosses behind {o}", "moves behind {o}"),
}
RELATION_VP = {
    "left of": "is to the left of {o}",
    "right of": "is to the right of {o}",
    "above": "is above {o}",
    "below": "is below {o}",
}
OPPOSITE_RELATION = {
    "left of": "right of",
    "right of": "left of",
    "above": "below",
    "below": "above",
}
SINGLE = ("{0}.", "In this clip, {0}.", "The video shows that {0}.", "Here, {0}.")
SEQUENCE = {
    "then": "{0}, then {1}.",
    "and_then": "{0} and then {1}.",
    "first_after": "First {0}; after that, {1}.",
    "after": "After {0}, {1}.",
    "before": "{0} before {1}.",
    "later": "{1} after {0}.",
    "before_lead": "Before {1}, {0}.",
}
CONCURRENT = {"while": "{0} while {1}.", "while_rev": "{1} while {0}.", "and": "{0}, and {1}."}
COUNT_WORDS = ("one", "two", "three", "four", "five")


@dataclass
class CaptionSpec:
    """A caption before it is written: facts, wording choices, template, order, extra sentence."""

    facts: list[Fact]
    variants: list[int]
    template: str
    order: list[list[int]] = field(default_factory=list)
    sizes: bool = False

    def text(self) -> str:
        pairs = zip(self.facts, self.variants, strict=True)
        clauses = [clause(f, v, self.sizes) for f, v in pairs]
        sentences: list[str] = []
        main = [i for i, f in enumerate(self.facts) if f["kind"] != "relation"]
        extra = [i for i, f in enumerate(self.facts) if f["kind"] == "relation"]
        if self.template in SEQUENCE:
            sentences.append(SEQUENCE[self.template].format(*[clauses[i] for i in main]))
        elif self.template in CONCURRENT:
            sentences.append(CONCURRENT[self.template].format(*[clauses[i] for i in main]))
        else:
            sentences.append(SINGLE[int(self.template.split("_")[1])].format(clauses[main[0]]))
        for i in extra:
            when = "At the start" if self.facts[i].get("when") == "start" else "In the end"
            sentences.append(f"{when}, {clauses[i]}.")
        return " ".join(s[0].upper() + s[1:] for s in sentences)


def noun_phrase(ref: dict[str, str], sizes: bool = False, article: str = "the") -> str:
    words = [article] if article else []
    if sizes and "size" in ref:
        words.append(ref["size"])
    words += [ref["colour"], ref["shape"]]
    return " ".join(words)


def verb_phrase(fact: Fact, variant: int = 0, sizes: bool = False) -> str:
    kind = fact["kind"]
    options: tuple[str, ...]
    obj = noun_phrase(fact["object"], sizes) if fact.get("object") else ""
    if kind == "move":
        options = MOVE_VP[fact["direction"]]
    elif kind == "pass":
        options = VP["pass_front" if fact["relation"] == "front" else "pass_behind"]
    elif kind == "relation":
        return RELATION_VP[fact["relation"]].format(o=obj)
    else:
        options = VP[kind]
    text = options[variant % len(options)]
    return text.format(o=obj, side=SIDE_WORD.get(fact.get("direction") or "", ""))


def clause(fact: Fact, variant: int = 0, sizes: bool = False) -> str:
    return f"{noun_phrase(fact['subject'], sizes)} {verb_phrase(fact, variant, sizes)}"


def _ref(scene: Scene, track_id: int | None, sizes: bool = False) -> dict[str, str] | None:
    if track_id is None:
        return None
    obj = scene.objects[track_id]
    ref = {"colour": obj.colour, "shape": obj.shape}
    if sizes:
        ref["size"] = obj.size
    return ref


def event_fact(scene: Scene, event: Event, sizes: bool = False) -> Fact:
    return {
        "kind": event.kind,
        "subject": _ref(scene, event.subject, sizes),
        "object": _ref(scene, event.object, sizes),
        "direction": event.direction if event.kind in ("move", "enter", "leave") else None,
        "relation": event.relation if event.kind == "pass" else None,
        "when": None,
    }


def _relation_fact(scene: Scene, truth: GroundTruth, rng: np.random.Generator) -> Fact | None:
    """A clear spatial relation between two objects wholly in view at the start or the end."""
    when = str(rng.choice(["start", "end"]))
    frame = 0 if when == "start" else scene.num_frames - 1
    ids = [
        t.track_id
        for t in truth.tracks.values()
        if t.in_frame.get(frame, 0.0) >= 0.999 and frame in t.centers
    ]
    if len(ids) < 2:
        return None
    a, b = (int(x) for x in rng.choice(ids, size=2, replace=False))
    ca, cb = truth.tracks[a].centers[frame], truth.tracks[b].centers[frame]
    dx, dy = ca[0] - cb[0], ca[1] - cb[1]
    clear = 0.1 * min(scene.width, scene.height)
    if abs(dx) >= abs(dy) and abs(dx) > clear:
        relation = "left of" if dx < 0 else "right of"
    elif abs(dy) > clear:
        relation = "above" if dy < 0 else "below"
    else:
        return None
    return {
        "kind": "relation",
        "subject": _ref(scene, a),
        "object": _ref(scene, b),
        "direction": None,
        "relation": relation,
        "when": when,
    }


def _captions(scene: Scene, truth: GroundTruth, rng: np.random.Generator) -> list[CaptionSpec]:
    specs: list[CaptionSpec] = []
    events = scene.events[:2]
    if scene.sequential:
        families = list(SEQUENCE)
        order = [[0, 1]]
    elif len(events) == 2:
        families = list(CONCURRENT)
        order = []
    else:
        families = [f"single_{i}" for i in range(len(SINGLE))]
        order = []
    picked = [str(x) for x in rng.permutation(families)[:2]]
    while len(picked) < 2:
        picked.append(picked[0])
    for number, template in enumerate(picked):
        sizes = number == 1 and bool(rng.random() < 0.5)
        facts = [event_fact(scene, e, sizes) for e in events]
        variants = [int(rng.integers(0, 4)) if number else 0 for _ in facts]
        spec = CaptionSpec(facts, variants, template, [list(p) for p in order], sizes)
        if number == 1 and rng.random() < 0.6:
            relation = _relation_fact(scene, truth, rng)
            if relation is not None:
                spec.facts.append(relation)
                spec.variants.append(0)
        specs.append(spec)
    idle = [o for o in scene.objects if o.motion == "stay_still" and o.track_id != scene.main]
    idle = [o for o in idle if not any(o.track_id in (e.subject, e.object) for e in events)]
    if idle and scene.events[0].kind != "still":
        other = idle[int(rng.integers(0, len(idle)))]
        still = {
            "kind": "still",
            "subject": _ref(scene, other.track_id),
            "object": None,
            "direction": None,
            "relation": None,
            "when": None,
        }
        facts = [event_fact(scene, scene.events[0]), still]
        template = str(rng.choice(list(CONCURRENT)))
        specs.append(CaptionSpec(facts, [int(rng.integers(0, 4)) for _ in facts], template))
    return [spec for spec in specs if truth.caption_holds(spec.facts, spec.order)]


def _refs_in(facts: list[Fact]) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for fact in facts:
        for key in ("subject", "object"):
            ref = fact.get(key)
            if ref and not any(_same(ref, r) for r in refs):
                refs.append(ref)
    return refs


def _same(a: dict[str, str], b: dict[str, str]) -> bool:
    return a["colour"] == b["colour"] and a["shape"] == b["shape"]


def _spatial_flips(spec: CaptionSpec) -> list[tuple[int, str, Any, Any]]:
    """(fact index, field, from, to) of every one-field spatial change of a caption."""
    flips: list[tuple[int, str, Any, Any]] = []
    for i, fact in enumerate(spec.facts):
        kind = fact["kind"]
        if kind in ("move", "enter", "leave"):
            flips.append((i, "direction", fact["direction"], OPPOSITE[fact["direction"]]))
        elif kind in ("approach", "retreat"):
            flips.append((i, "kind", kind, "retreat" if kind == "approach" else "approach"))
        elif kind == "pass":
            flips.append(
                (
                    i,
                    "relation",
                    fact["relation"],
                    "behind" if fact["relation"] == "front" else "front",
                )
            )
        elif kind == "relation":
            flips.append((i, "relation", fact["relation"], OPPOSITE_RELATION[fact["relation"]]))
    return flips


def _negatives(
    scene: Scene, truth: GroundTruth, specs: list[CaptionSpec], rng: np.random.Generator
) -> list[dict[str, Any]]:
    present = {(o.colour, o.shape) for o in scene.objects}
    negatives: list[dict[str, Any]] = []

    def emit(aspect: str, source: int, spec: CaptionSpec, change: dict[str, Any]) -> bool:
        if truth.caption_holds(spec.facts, spec.order):
            return False  # the change happens to be true as well: not a negative
        negatives.append(
            {
                "text": spec.text(),
                "aspect": aspect,
                "source": source,
                "facts": spec.facts,
                "order": spec.order,
                "change": change,
            }
        )
        return True

    for aspect in ("spatial", "temporal", "attribute", "object"):
        done = False
        for source in [int(i) for i in rng.permutation(len(specs))]:
            spec = specs[source]
            if aspect == "spatial":
                flips = _spatial_flips(spec)
                for k in rng.permutation(len(flips)):
                    i, name, old, new = flips[int(k)]
                    changed = copy.deepcopy(spec)
                    changed.facts[i][name] = new
                    change = {"fact": i, "field": name, "from": old, "to": new}
                    if emit(aspect, source, changed, change):
                        done = True
                        break
            elif aspect == "temporal":
                if not spec.order:
                    continue
                i, j = spec.order[0]
                changed = copy.deepcopy(spec)
                changed.facts[i], changed.facts[j] = changed.facts[j], changed.facts[i]
                changed.variants[i], changed.variants[j] = changed.variants[j], changed.variants[i]
                done = emit(aspect, source, changed, {"swap": [i, j]})
            else:
                name = "colour" if aspect == "attribute" else "shape"
                pool = list(COLOURS) if aspect == "attribute" else list(SHAPES)
                refs = _refs_in(spec.facts)
                ref = refs[int(rng.integers(0, len(refs)))]
                choices = [
                    value
                    for value in pool
                    if value != ref[name]
                    and ((value, ref["shape"]) if name == "colour" else (ref["colour"], value))
                    not in present
                ]
                new = str(rng.choice(choices))
                changed = copy.deepcopy(spec)
                for fact in changed.facts:
                    for key in ("subject", "object"):
                        if fact.get(key) and _same(fact[key], ref):
                            fact[key][name] = new
                change = {"field": name, "referent": dict(ref), "from": ref[name], "to": new}
                done = emit(aspect, source, changed, change)
            if done:
                break
    return negatives


def _candidate_facts(scene: Scene, subject: int) -> list[Fact]:
    """Every fact one could state about ``subject`` (most are false)."""
    ref = _ref(scene, subject)
    facts: list[Fact] = []
    base = {"subject": ref, "object": None, "direction": None, "relation": None, "when": None}
    for direction in DIRECTIONS:
        facts.append({**base, "kind": "move", "direction": direction})
        facts.append({**base, "kind": "enter", "direction": direction})
        facts.append({**base, "kind": "leave", "direction": direction})
    facts.append({**base, "kind": "still"})
    for other in scene.objects:
        if other.track_id == subject:
            continue
        obj = _ref(scene, other.track_id)
        for kind in ("approach", "retreat", "collide"):
            facts.append({**base, "kind": kind, "object": obj})
        for relation in ("front", "behind"):
            facts.append({**base, "kind": "pass", "object": obj, "relation": relation})
    return facts


def _mc(
    question: str, answer: str, distractors: list[str], kind: str, rng: np.random.Generator
) -> dict[str, Any] | None:
    unique = []
    for text in distractors:
        if text != answer and text not in unique:
            unique.append(text)
    if len(unique) < 4:
        return None
    chosen = [unique[int(i)] for i in rng.permutation(len(unique))[:4]]
    position = int(rng.integers(0, 5))
    options = [*chosen[:position], answer, *chosen[position:]]
    return {"question": question, "options": options, "answer": position, "type": kind}


def _questions(
    scene: Scene, truth: GroundTruth, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    mc: list[dict[str, Any]] = []
    open_qa: list[dict[str, Any]] = []
    events = scene.events[:2]
    first = event_fact(scene, events[0])
    main_ref = _ref(scene, scene.main)
    assert main_ref is not None
    main_np = noun_phrase(main_ref)
    absent = [
        (c, s)
        for c in COLOURS
        for s in SHAPES
        if (c, s) not in {(o.colour, o.shape) for o in scene.objects}
    ]

    # What does the main object do?
    answer = verb_phrase(first)
    false = [verb_phrase(f) for f in _candidate_facts(scene, scene.main) if not truth.holds(f)]
    item = _mc(f"What does {main_np} do?", answer, false, "action", rng)
    if item:
        mc.append(item)
    open_qa.append({"question": f"What does {main_np} do?", "answer": answer, "type": "action"})

    # Who does what: "what moves toward the blue ball?"
    for event in events:
        if event.kind == "still":
            continue
        fact = event_fact(scene, event)
        holders = [
            o.track_id
            for o in scene.objects
            if truth.holds({**fact, "subject": _ref(scene, o.track_id)})
        ]
        if holders != [event.subject]:
            continue
        question = f"What {verb_phrase(fact)}?"
        ref = _ref(scene, event.subject)
        assert ref is not None
        others = [
            noun_phrase(_ref(scene, o.track_id) or {})
            for o in scene.objects
            if o.track_id != event.subject
        ]
        picks = [absent[int(i)] for i in rng.permutation(len(absent))[:4]]
        others += [noun_phrase({"colour": c, "shape": s}) for c, s in picks]
        item = _mc(question, noun_phrase(ref), others, "subject", rng)
        if item:
            mc.append(item)
        open_qa.append(
            {"question": question, "answer": noun_phrase(ref, article=""), "type": "subject"}
        )
        break

    # What happens after / before?
    if scene.sequential:
        second = event_fact(scene, events[1])
        lead = clause(first)
        if first["kind"] in ("move", "approach", "retreat", "enter", "collide", "pass"):
            question = f"What happens after {main_np} stops?"
        else:
            question = f"What happens after {lead}?"
        answer = clause(second)
        candidates = []
        for obj in scene.objects:
            for fact in _candidate_facts(scene, obj.track_id):
                if not truth.caption_holds([first, fact], [[0, 1]]):
                    candidates.append(clause(fact))
        item = _mc(question, answer, candidates, "after", rng)
        if item:
            mc.append(item)
        open_qa.append({"question": question, "answer": answer, "type": "after"})
        open_qa.append(
            {"question": f"What happens before {clause(second)}?", "answer": lead, "type": "before"}
        )

    # Direction of the main object's motion, when it has exactly one.
    moves = [
        d
        for d in DIRECTIONS
        if truth.holds(
            {**first, "kind": "move", "direction": d, "object": None, "subject": main_ref}
        )
    ]
    if len(moves) == 1 or (not moves and truth.holds({"kind": "still", "subject": main_ref})):
        answer = moves[0] if moves else "it does not move"
        question = f"In which direction does {main_np} move?"
        options = [*DIRECTIONS, "it does not move"]
        position = options.index(answer)
        mc.append(
            {"question": question, "options": options, "answer": position, "type": "direction"}
        )
        open_qa.append({"question": question, "answer": answer, "type": "direction"})

    # Colour of a shape that occurs once; count of objects.
    shapes = [o.shape for o in scene.objects]
    unique = [o for o in scene.objects if shapes.count(o.shape) == 1]
    if unique:
        obj = unique[int(rng.integers(0, len(unique)))]
        question = f"What colour is the {obj.shape}?"
        others = [c for c in COLOURS if c != obj.colour]
        item = _mc(question, obj.colour, others, "colour", rng)
        if item:
            mc.append(item)
        open_qa.append({"question": question, "answer": obj.colour, "type": "colour"})
    count = len(scene.objects)
    question = "How many objects appear in the video?"
    mc.append(
        {"question": question, "options": list(COUNT_WORDS), "answer": count - 1, "type": "count"}
    )
    open_qa.append({"question": question, "answer": COUNT_WORDS[count - 1], "type": "count"})
    return mc, open_qa


def annotate_text(scene: Scene, frames: list[Any], rng: np.random.Generator) -> dict[str, Any]:
    """Captions, hard negatives, MC and open QA for a scene and its per-frame ground truth."""
    truth = GroundTruth(
        [
            {
                "track_id": o.track_id,
                "shape": o.shape,
                "colour": o.colour,
                "size": o.size,
                "depth": o.depth,
            }
            for o in scene.objects
        ],
        frames,
        scene.width,
        scene.height,
    )
    specs = _captions(scene, truth, rng)
    captions = [
        {"text": s.text(), "facts": s.facts, "order": s.order, "template": s.template}
        for s in specs
    ]
    negatives = _negatives(scene, truth, specs, rng)
    mc, open_qa = _questions(scene, truth, rng)
    return {"captions": captions, "negatives": negatives, "qa_mc": mc, "qa_open": open_qa}
