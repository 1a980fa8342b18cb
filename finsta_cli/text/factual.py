"""FACTUAL's formats: fact strings ``( subj , pred , obj ) , ( obj )``, TSG -> facts, and its CSV.

FACTUAL (Li et al., 2023) writes a caption's scene graph as facts joined by ``" , "``:
``( subj , pred , obj )`` for a relation, ``( obj , is , attr )`` for an attribute and
``( obj )`` for an object that takes part in no other fact. :func:`tsg_to_facts` flattens a
:class:`~finsta_cli.schema.TSG` into that form; the FACTUAL naming conventions (name spellings,
predicate rewrites learned from its train split) are applied there, so the TSG itself keeps the
caption's own words. :func:`read_factual_csv` reads FACTUAL's ``caption,scene_graph`` CSV.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from finsta_cli.errors import InputError
from finsta_cli.io.csvfile import iter_csv_rows
from finsta_cli.schema import TSG

Fact = tuple[str, ...]  # length 1 (object) or 3 (subject, predicate, object)

_FACT_RE = re.compile(r"\(([^()]*)\)")
_SPACE_RE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """The scorer's normalisation: lowercase, whitespace folded, no lemmatisation."""
    return _SPACE_RE.sub(" ", text.strip().lower())


def normalise_fact(fact: Sequence[str]) -> Fact:
    return tuple(normalise_text(part) for part in fact)


def parse_facts(text: str) -> list[Fact]:
    """Read a FACTUAL scene-graph string into facts (normalised, in order, duplicates kept).

    Parts are split on commas; a fact with two parts or more than three keeps its first and
    last part as subject and object and joins the middle as the predicate, so malformed gold or
    predictions are still scored rather than dropped.
    """
    facts: list[Fact] = []
    for match in _FACT_RE.finditer(text or ""):
        parts = [normalise_text(part) for part in match.group(1).split(",")]
        parts = [part for part in parts if part]
        if not parts:
            continue
        if len(parts) == 1:
            facts.append((parts[0],))
        elif len(parts) == 2:
            facts.append((parts[0], "is", parts[1]))
        else:
            facts.append((parts[0], " ".join(parts[1:-1]), parts[-1]))
    return facts


def _clean_part(part: str) -> str:
    # Commas and parentheses are FACTUAL's syntax: they cannot appear inside a name.
    return normalise_text(re.sub(r"[(),]", " ", part))


def format_facts(facts: Iterable[Sequence[str]]) -> str:
    """Write facts in FACTUAL syntax, de-duplicated in first-seen order."""
    seen: set[Fact] = set()
    out: list[str] = []
    for fact in facts:
        cleaned = tuple(_clean_part(part) for part in fact)
        if not all(cleaned) or cleaned in seen:
            continue
        seen.add(cleaned)
        out.append("( " + " , ".join(cleaned) + " )")
    return " , ".join(out)


def tsg_to_facts(
    tsg: TSG,
    *,
    object_names: Mapping[str, str] | None = None,
    predicate_names: Mapping[str, str] | None = None,
    drop_attribute: Callable[[str, str], bool] | None = None,
) -> list[Fact]:
    """Flatten a TSG into FACTUAL facts.

    - an attribute edge gives ``( obj , is , attr )``;
    - a predicate gives ``( agent , pred , patient )`` for each agent and patient, and
      ``( agent , pred prep , arg )`` for each prepositional argument (a noun-noun relation
      such as "on" has the preposition itself as its label: ``( cup , on , table )``);
    - a predicate with an agent and no other argument gives ``( agent , is , verb )``
      ("two bicycles parked" -> ``( bicycles , is , parked )``), using the verb's caption form;
    - an object in no fact gives ``( obj )``.

    ``object_names`` and ``predicate_names`` rewrite names to FACTUAL's spellings
    ("guy" -> "person", "sitting on" conventions); unknown names are kept.
    ``drop_attribute(attribute, head noun)`` says which attributes written in front of their
    object FACTUAL leaves out ("snowy hill" -> ``( hill )``; the TSG keeps the scene word).
    """
    object_names = object_names or {}
    predicate_names = predicate_names or {}
    nodes = tsg.nodes

    def name(node_id: int) -> str:
        label = normalise_text(nodes[node_id].label)
        return object_names.get(label, label)

    agents: dict[int, list[int]] = {}
    args: dict[int, list[tuple[int, str | None, bool]]] = {}
    facts: list[Fact] = []
    used: set[int] = set()
    for edge in tsg.edges:
        if edge.type == "has_attribute":
            if drop_attribute is not None and _dropped(
                tsg, edge.source, edge.target, drop_attribute
            ):
                continue
            facts.append((name(edge.source), "is", normalise_text(nodes[edge.target].label)))
            used.add(edge.source)
        elif edge.type == "agent":
            agents.setdefault(edge.source, []).append(edge.target)
        elif edge.type in ("patient", "prep_arg"):
            args.setdefault(edge.source, []).append(
                (edge.target, edge.preposition, edge.type == "patient")
            )
    for node in nodes:
        if node.type != "predicate":
            continue
        label = normalise_text(node.label)
        subjects = agents.get(node.id, [])
        objects = args.get(node.id, [])
        for subject in subjects:
            if not objects:
                surface = label if node.span is None else tsg.text[node.span[0] : node.span[1]]
                facts.append((name(subject), "is", normalise_text(surface)))
                used.add(subject)
            for target, preposition, is_patient in objects:
                if is_patient or not preposition or preposition == label:
                    predicate = label
                else:
                    predicate = f"{label} {normalise_text(preposition)}"
                target_name = name(target)
                predicate = predicate_names.get(
                    f"{predicate}|{target_name}", predicate_names.get(predicate, predicate)
                )
                facts.append((name(subject), predicate, target_name))
                used.update((subject, target))
    for node in nodes:
        if node.type == "object" and node.id not in used:
            facts.append((name(node.id),))
    return facts


def _dropped(tsg: TSG, obj: int, attribute: int, drop: Callable[[str, str], bool]) -> bool:
    """An attribute in front of its object ("snowy hill") that FACTUAL's conventions drop."""
    obj_span, attr_span = tsg.nodes[obj].span, tsg.nodes[attribute].span
    if obj_span is None or attr_span is None or attr_span[1] > obj_span[1]:
        return False
    words = normalise_text(tsg.nodes[obj].label).split()
    return bool(words) and drop(normalise_text(tsg.nodes[attribute].label), words[-1])


def fact_set(facts: Iterable[Sequence[str]]) -> frozenset[Fact]:
    """The de-duplicated, normalised set of facts that Set Match compares."""
    return frozenset(normalise_fact(fact) for fact in facts)


def read_factual_csv(path: str | Path) -> list[tuple[str, str]]:
    """``(caption, scene_graph)`` rows of a FACTUAL CSV; errors name the file (and the line of
    a quote that is never closed, :func:`~finsta_cli.io.csvfile.iter_csv_rows`)."""
    source = Path(path)
    try:
        with source.open("r", encoding="utf-8", newline="") as handle:
            rows = iter_csv_rows(handle, str(source))
            fields = next(rows, (0, []))[1]
            if "caption" not in fields or "scene_graph" not in fields:
                raise InputError(
                    f"{source}: not a FACTUAL CSV (columns {fields}, need caption and scene_graph)"
                )
            caption, graph = fields.index("caption"), fields.index("scene_graph")
            return [(_cell(row, caption), _cell(row, graph)) for _, row in rows if row]
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text ({exc.reason})") from None


def _cell(row: list[str], column: int) -> str:
    return row[column] if column < len(row) else ""
