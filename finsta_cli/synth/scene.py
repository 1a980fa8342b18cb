"""Scenes of the synthetic benchmark: objects, scripted events and trajectories that realise them.

A scene is planned in two steps. First symbolically: the main object's motion class, an optional
second event in sequence (the same object moves again, a pushed object moves off, another object
enters, moves or leaves), and which other objects stay still. Then geometrically: positions,
timings and speeds are sampled for that script, and the result is rejected and sampled again
unless every object stays in view except where it enters or leaves, and no two objects touch or
overlap except where the script says so (a collision, a pass in front of or behind another). The
events are therefore facts of the ground truth, not guesses from pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from finsta_cli.synth.render import COLOURS, SHAPES, SIZES, make_sprite, sprite_side

DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
OPPOSITE: dict[str, str] = {"left": "right", "right": "left", "up": "down", "down": "up"}
UNIT: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
}
# Motion classes: the action label of a video is the motion class of its main object.
MOTIONS: tuple[str, ...] = (
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "stay_still",
    "approach",
    "retreat",
    "enter",
    "leave",
    "collide",
    "pass_front",
    "pass_behind",
)
EVENT_KINDS: tuple[str, ...] = (
    "move",
    "still",
    "approach",
    "retreat",
    "enter",
    "leave",
    "collide",
    "pass",
)


@dataclass
class Event:
    """A scripted event: ``subject`` (a track id) does ``kind`` between frames start and end.

    ``direction`` is the direction of motion for move/collide/pass, the side of the frame for
    enter ("enters from the left") and leave ("leaves to the right"); ``relation`` is "front" or
    "behind" for a pass. ``start``/``end`` bound the frames over which positions change.
    """

    id: int
    kind: str
    subject: int
    object: int | None = None
    direction: str | None = None
    relation: str | None = None
    start: int = 0
    end: int = 0

    @property
    def motion(self) -> str:
        return motion_class(self.kind, self.direction, self.relation)

    def to_json(self) -> dict[str, int | str | None]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "object": self.object,
            "direction": self.direction,
            "relation": self.relation,
            "start": self.start,
            "end": self.end,
        }


def motion_class(kind: str, direction: str | None, relation: str | None) -> str:
    if kind == "move":
        return f"move_{direction}"
    if kind == "still":
        return "stay_still"
    if kind == "pass":
        return "pass_front" if relation == "front" else "pass_behind"
    return kind


@dataclass
class SceneObject:
    """One object of a scene and its per-frame centre (pixels) over the whole video."""

    track_id: int
    shape: str
    colour: str
    size: str
    depth: float
    brightness: float
    positions: np.ndarray = field(repr=False)  # (T, 2) float, sprite centre x, y
    motion: str = "stay_still"

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Scene:
    """A planned video: frame size, frame count, objects with trajectories, events in time order."""

    width: int
    height: int
    num_frames: int
    objects: list[SceneObject]
    events: list[Event]
    main: int
    background: str

    @property
    def sequential(self) -> bool:
        """Whether two events happen one after the other (the second starts after the first)."""
        return len(self.events) >= 2 and self.events[1].start >= self.events[0].end


class PlanError(Exception):
    """A sampled geometry broke a rule; the planner samples again."""


def heldout_combos() -> frozenset[tuple[str, str, str]]:
    """(shape, colour, motion) combinations kept out of train/val/test: the ``test_unseen`` split.

    A fixed rule independent of the seed, so every dataset agrees on what is unseen: about one
    combination in seven, spread over every shape, colour and motion.
    """
    combos = set()
    for i, shape in enumerate(SHAPES):
        for j, colour in enumerate(COLOURS):
            for k, motion in enumerate(MOTIONS):
                if (i * 5 + j * 3 + k * 2) % 7 == 0:
                    combos.add((shape, colour, motion))
    return frozenset(combos)


# --- symbolic plan ---------------------------------------------------------------------------
@dataclass
class _Script:
    events: list[Event]
    count: int  # number of objects
    entering: set[int]  # objects that start out of frame


def _script(rng: np.random.Generator, main_motion: str) -> _Script:
    """Events for a main motion class; the second event in sequence is chosen here."""
    count = int(rng.integers(2, 5))
    events: list[Event] = []
    entering: set[int] = set()
    sequential = rng.random() < 0.7
    if main_motion.startswith("move_"):
        events.append(Event(0, "move", 0, direction=main_motion[5:]))
    elif main_motion == "stay_still":
        events.append(Event(0, "still", 0))
    elif main_motion in ("approach", "retreat"):
        events.append(Event(0, main_motion, 0, object=1))
    elif main_motion == "enter":
        events.append(Event(0, "enter", 0, direction=str(rng.choice(DIRECTIONS))))
        entering.add(0)
    elif main_motion == "leave":
        events.append(Event(0, "leave", 0, direction=str(rng.choice(DIRECTIONS))))
    elif main_motion == "collide":
        events.append(Event(0, "collide", 0, object=1, direction=str(rng.choice(DIRECTIONS))))
    elif main_motion in ("pass_front", "pass_behind"):
        relation = "front" if main_motion == "pass_front" else "behind"
        direction = str(rng.choice(("left", "right")))
        events.append(Event(0, "pass", 0, object=1, direction=direction, relation=relation))
    else:
        raise ValueError(f"unknown motion {main_motion!r}")
    first = events[0]
    if first.kind == "still":
        # The main object stays put while another one acts on it: not a sequence, one event.
        kind = str(rng.choice(["approach", "retreat", "move"]))
        if kind == "move":
            events.append(Event(1, "move", 1, direction=str(rng.choice(DIRECTIONS))))
        else:
            events.append(Event(1, kind, 1, object=0))
        return _Script(events, max(count, 2), entering)
    if not sequential:
        return _Script(events, max(count, 2 if first.object is not None else 1), entering)
    options = ["other_move", "other_enter"]
    if first.kind != "leave":
        options.append("same_move")
    if first.kind == "collide":
        options = ["pushed", "pushed", *options]
    choice = str(rng.choice(options))
    used = {0} | ({first.object} if first.object is not None else set())
    other = len(used)  # the next free track id
    if choice == "pushed":
        events.append(Event(1, "move", int(first.object or 0), direction=first.direction))
    elif choice == "same_move":
        moving = first.kind in ("move", "collide")
        blocked = {OPPOSITE[str(first.direction)]} if moving else set()
        if first.kind == "collide":
            blocked.add(str(first.direction))  # it would push into the object it touches
        if first.kind == "enter":
            blocked.add(str(first.direction))  # back out of the side it came in from
        if first.kind == "move":
            blocked.add(str(first.direction))  # the same direction again is one motion
        choices = [d for d in DIRECTIONS if d not in blocked]
        events.append(Event(1, "move", 0, direction=str(rng.choice(choices))))
    elif choice == "other_enter":
        events.append(Event(1, "enter", other, direction=str(rng.choice(DIRECTIONS))))
        entering.add(other)
    else:
        events.append(Event(1, "move", other, direction=str(rng.choice(DIRECTIONS))))
    referenced = [e.subject for e in events] + [e.object for e in events if e.object is not None]
    return _Script(events, max(count, 2, max(referenced) + 1), entering)


def object_motions(events: list[Event], count: int) -> list[str]:
    """Each object's motion class: that of the first event it is the subject of; else still."""
    motions = ["stay_still"] * count
    seen: set[int] = set()
    for event in events:
        if event.subject not in seen:
            motions[event.subject] = event.motion
            seen.add(event.subject)
    return motions


def _choose_attributes(
    rng: np.random.Generator, motions: list[str], unseen: bool
) -> list[tuple[str, str, str]]:
    """(shape, colour, size) per object, unique (colour, shape), obeying the held-out rule.

    ``unseen``: the main object (0) takes a held-out (shape, colour, motion) combination and the
    others may take any; otherwise no object takes a held-out combination.
    """
    held = heldout_combos()
    shapes = list(SHAPES)
    colours = list(COLOURS)
    for _ in range(200):
        chosen: list[tuple[str, str, str]] = []
        pairs: set[tuple[str, str]] = set()
        ok = True
        for index, motion in enumerate(motions):
            for _ in range(50):
                shape = str(rng.choice(shapes))
                colour = str(rng.choice(colours))
                if (shape, colour) in pairs:
                    continue
                in_held = (shape, colour, motion) in held
                if unseen and index == 0:
                    if not in_held:
                        continue
                elif not unseen and in_held:
                    continue
                break
            else:
                ok = False
                break
            pairs.add((shape, colour))
            chosen.append((shape, colour, str(rng.choice(SIZES))))
        if ok:
            return chosen
    raise PlanError("no attributes satisfy the held-out rule")


# --- geometry ---------------------------------------------------------------------------------
@dataclass
class _Body:
    side: int
    left: float
    top: float
    right: float
    bottom: float


def _frames_for(rng: np.random.Generator, num_frames: int, count: int) -> list[tuple[int, int]]:
    """Frame spans of ``count`` events in sequence; the second starts where the first ends or
    a frame or two later."""
    last = num_frames - 1
    if count == 1:
        start = int(rng.integers(0, 3))
        end = int(rng.integers(max(start + 8, last - 4), last + 1))
        return [(start, min(end, last))]
    start = int(rng.integers(0, 2))
    middle = start + round((last - start) * rng.uniform(0.42, 0.55))
    gap = int(rng.integers(1, 3))
    middle = min(middle, last - gap - 5)
    end2 = int(rng.integers(max(middle + gap + 5, last - 2), last + 1))
    return [(start, middle), (middle + gap, min(end2, last))]


class _Planner:
    def __init__(self, rng: np.random.Generator, width: int, height: int, num_frames: int):
        self.rng = rng
        self.width = width
        self.height = height
        self.num_frames = num_frames
        self.scale = min(width, height) / 256.0
        self.margin = 3.0 * self.scale

    def speed(self) -> float:
        return float(self.rng.uniform(3.2, 5.8)) * self.scale

    def inside(self, body: _Body, x: float, y: float) -> bool:
        return (
            x + body.left >= self.margin
            and x + body.right <= self.width - self.margin
            and y + body.top >= self.margin
            and y + body.bottom <= self.height - self.margin
        )

    def random_inside(self, body: _Body) -> np.ndarray:
        x = self.rng.uniform(self.margin - body.left, self.width - self.margin - body.right)
        y = self.rng.uniform(self.margin - body.top, self.height - self.margin - body.bottom)
        return np.array([x, y])

    def contact(self, a: _Body, b: _Body, direction: str) -> float:
        """Centre distance along ``direction`` at which a (moving that way) touches b."""
        if direction == "right":
            return a.right - b.left
        if direction == "left":
            return b.right - a.left
        if direction == "down":
            return a.bottom - b.top
        return b.bottom - a.top


def _gap(pa: np.ndarray, a: _Body, pb: np.ndarray, b: _Body) -> np.ndarray:
    """Per-frame gap in pixels between two tight boxes (negative when they overlap)."""
    gx = np.maximum(
        pb[:, 0] + b.left - (pa[:, 0] + a.right), pa[:, 0] + a.left - (pb[:, 0] + b.right)
    )
    gy = np.maximum(
        pb[:, 1] + b.top - (pa[:, 1] + a.bottom), pa[:, 1] + a.top - (pb[:, 1] + b.bottom)
    )
    return np.maximum(gx, gy)


def _linear(start: np.ndarray, end: np.ndarray, s: int, e: int, num_frames: int) -> np.ndarray:
    t = np.clip((np.arange(num_frames) - s) / max(e - s, 1), 0.0, 1.0)
    return start[None, :] + (end - start)[None, :] * t[:, None]


def _place(
    planner: _Planner, events: list[Event], bodies: list[_Body], entering: set[int]
) -> list[np.ndarray]:
    """Sample positions for every object; raise PlanError when a rule is broken."""
    rng = planner.rng
    n = planner.num_frames
    count = len(bodies)
    spans = _frames_for(rng, n, len(events)) if events[0].kind != "still" else None
    if spans is None:
        # Main object still for the whole video; the other event spans most of it.
        events[0].start, events[0].end = 0, n - 1
        start = int(rng.integers(0, 3))
        events[1].start, events[1].end = start, int(rng.integers(max(start + 8, n - 4), n))
    else:
        for event, (s, e) in zip(events, spans, strict=False):
            event.start, event.end = s, e
    tracks: list[np.ndarray | None] = [None] * count
    starts: dict[int, np.ndarray] = {}

    def body(i: int) -> _Body:
        return bodies[i]

    for event in events:
        a = event.subject
        s, e = event.start, event.end
        frames = max(e - s, 1)
        if event.kind == "still":
            pos = starts.get(a, planner.random_inside(body(a)))
            tracks[a] = np.repeat(pos[None, :], n, axis=0)
            continue
        if event.kind == "move":
            previous = tracks[a]
            # An object that moved already moves again from where it stopped.
            begin = previous[s] if previous is not None else planner.random_inside(body(a))
            delta = np.array(UNIT[str(event.direction)]) * planner.speed() * frames
            end = begin + delta
            path = _linear(begin, end, s, e, n)
            if tracks[a] is not None:
                path[: s + 1] = tracks[a][: s + 1]  # type: ignore[index]
            tracks[a] = path
            continue
        if event.kind in ("approach", "retreat"):
            b = int(event.object or 0)
            pb = tracks[b][0] if tracks[b] is not None else planner.random_inside(body(b))  # type: ignore[index]
            if tracks[b] is None:
                tracks[b] = np.repeat(pb[None, :], n, axis=0)
            near = (body(a).side + body(b).side) / 2.0 + rng.uniform(14, 28) * planner.scale
            far = near + planner.speed() * frames
            angle = rng.uniform(0, 2 * math.pi)
            unit = np.array([math.cos(angle), math.sin(angle)])
            d0, d1 = (far, near) if event.kind == "approach" else (near, far)
            tracks[a] = _linear(pb + unit * d0, pb + unit * d1, s, e, n)
            continue
        if event.kind in ("enter", "leave"):
            side = str(event.direction)
            bd = body(a)
            inner = planner.random_inside(bd)
            outer = inner.copy()
            travel = planner.speed() * frames
            if side == "left":
                outer[0] = -bd.right - 1.0
                inner[0] = max(inner[0], outer[0] + travel * 0.6, planner.margin - bd.left)
                inner[0] = min(inner[0], outer[0] + travel * 1.3)
            elif side == "right":
                outer[0] = planner.width - bd.left + 1.0
                inner[0] = min(inner[0], outer[0] - travel * 0.6)
                inner[0] = max(inner[0], outer[0] - travel * 1.3)
            elif side == "up":
                outer[1] = -bd.bottom - 1.0
                inner[1] = max(inner[1], outer[1] + travel * 0.6)
                inner[1] = min(inner[1], outer[1] + travel * 1.3)
            else:
                outer[1] = planner.height - bd.top + 1.0
                inner[1] = min(inner[1], outer[1] - travel * 0.6)
                inner[1] = max(inner[1], outer[1] - travel * 1.3)
            if not planner.inside(bd, float(inner[0]), float(inner[1])):
                raise PlanError("enter/leave end point out of view")
            path = (
                _linear(outer, inner, s, e, n)
                if event.kind == "enter"
                else (_linear(inner, outer, s, e, n))
            )
            if tracks[a] is not None:
                if event.kind == "enter":
                    raise PlanError("an object already on screen cannot enter")
                path[: s + 1] = tracks[a][: s + 1]  # type: ignore[index]
                if not np.allclose(path[s], _linear(inner, outer, s, e, n)[s]):
                    raise PlanError("leave does not start where the object is")
            tracks[a] = path
            continue
        if event.kind == "collide":
            b = int(event.object or 0)
            direction = str(event.direction)
            pb = planner.random_inside(body(b))
            tracks[b] = np.repeat(pb[None, :], n, axis=0)
            unit = np.array(UNIT[direction])
            touch = planner.contact(body(a), body(b), direction)
            stop = pb - unit * touch
            begin = stop - unit * planner.speed() * frames
            tracks[a] = _linear(begin, stop, s, e, n)
            continue
        if event.kind == "pass":
            b = int(event.object or 0)
            direction = str(event.direction)
            pb = planner.random_inside(body(b))
            tracks[b] = np.repeat(pb[None, :], n, axis=0)
            unit = np.array(UNIT[direction])
            reach = max(planner.contact(body(a), body(b), direction), 0.0)
            clear = reach + rng.uniform(4, 14) * planner.scale
            other_side = planner.contact(body(a), body(b), OPPOSITE[direction])
            clear_end = other_side + rng.uniform(4, 14) * planner.scale
            offset = np.array([0.0, rng.uniform(-0.2, 0.2) * body(b).side])
            tracks[a] = _linear(pb - unit * clear + offset, pb + unit * clear_end + offset, s, e, n)
            continue
        raise PlanError(f"unhandled event {event.kind}")
    for i in range(count):
        if tracks[i] is None:
            pos = planner.random_inside(body(i))
            tracks[i] = np.repeat(pos[None, :], n, axis=0)
    result = [t for t in tracks if t is not None]
    _validate(planner, events, bodies, result, entering)
    return result


def _validate(
    planner: _Planner,
    events: list[Event],
    bodies: list[_Body],
    tracks: list[np.ndarray],
    entering: set[int],
) -> None:
    exits = {e.subject for e in events if e.kind == "leave"}
    for i, (body, path) in enumerate(zip(bodies, tracks, strict=False)):
        if i in entering or i in exits:
            continue
        for x, y in path:
            if not planner.inside(body, float(x), float(y)):
                raise PlanError(f"object {i} leaves the view")
    for i, path in enumerate(tracks):
        if i in entering or i in exits:
            # Out of view only on its side of the frame: the end/start points must be inside.
            inside = [planner.inside(bodies[i], float(x), float(y)) for x, y in path]
            if not any(inside):
                raise PlanError(f"object {i} is never fully in view")
    allowed_overlap = {(e.subject, int(e.object or 0)) for e in events if e.kind == "pass"}
    touching = {(e.subject, int(e.object or 0)) for e in events if e.kind == "collide"}
    min_gap = 5.0 * planner.scale
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            gap = _gap(tracks[i], bodies[i], tracks[j], bodies[j])
            if (i, j) in allowed_overlap or (j, i) in allowed_overlap:
                if gap.min() >= 0:
                    raise PlanError("a pass without overlap")
                continue
            if (i, j) in touching or (j, i) in touching:
                if gap.min() < -0.51 or gap.min() > 0.51:
                    raise PlanError("a collision that does not touch")
                continue
            if gap.min() < min_gap:
                raise PlanError(f"objects {i} and {j} touch outside the script")
    for event in events:
        if event.kind in ("approach", "retreat"):
            a, b = tracks[event.subject], tracks[int(event.object or 0)]
            dist = np.linalg.norm(a - b, axis=1)
            change = dist[event.end] - dist[event.start]
            if abs(change) < 20 * planner.scale:
                raise PlanError("approach/retreat too short")


def plan_scene(
    rng: np.random.Generator,
    *,
    width: int,
    height: int,
    num_frames: int,
    main_motion: str,
    unseen: bool,
    background: str,
    max_tries: int = 400,
) -> Scene:
    """Sample a scene whose main object has ``main_motion``; see the module docstring."""
    for _ in range(max_tries):
        script = _script(rng, main_motion)
        motions = object_motions(script.events, script.count)
        try:
            attributes = _choose_attributes(rng, motions, unseen)
        except PlanError:
            continue
        bodies = []
        for shape, colour, size in attributes:
            sprite = make_sprite(shape, colour, sprite_side(size, min(width, height)))
            bodies.append(_Body(sprite.side, sprite.left, sprite.top, sprite.right, sprite.bottom))
        planner = _Planner(rng, width, height, num_frames)
        for _ in range(30):
            try:
                tracks = _place(planner, script.events, bodies, script.entering)
            except PlanError:
                continue
            break
        else:
            continue
        depths = rng.permutation(len(bodies)).astype(float)
        for event in script.events:
            if event.kind == "pass":
                a, b = event.subject, int(event.object or 0)
                hi, lo = max(depths[a], depths[b]), min(depths[a], depths[b])
                depths[a], depths[b] = (hi, lo) if event.relation == "front" else (lo, hi)
        objects = [
            SceneObject(
                track_id=i,
                shape=shape,
                colour=colour,
                size=size,
                depth=float(depths[i]),
                brightness=float(rng.uniform(0.9, 1.08)),
                positions=tracks[i],
                motion=motions[i],
            )
            for i, (shape, colour, size) in enumerate(attributes)
        ]
        return Scene(
            width=width,
            height=height,
            num_frames=num_frames,
            objects=objects,
            events=script.events,
            main=0,
            background=background,
        )
    raise PlanError(f"could not plan a scene for motion {main_motion!r} in {max_tries} tries")
