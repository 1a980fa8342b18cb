"""Writing the chosen options of each slot back into the rules' TSG record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from finsta_cli.text.graph_builder import tsg_dict
from finsta_cli.text.learned.slots import Attr, Name, Proposal, Rel


# -- applying choices --------------------------------------------------------------------------
def apply_choices(proposal: Proposal, choices: Sequence[int]) -> dict[str, Any]:
    """The TSG record with each slot's chosen option written into the rules' graph."""
    record = proposal.record
    if all(choice == slot.rule for slot, choice in zip(proposal.slots, choices, strict=True)):
        return record  # the rules' own graph
    nodes = [dict(node) for node in record["nodes"]]
    tokens = proposal.tokens

    def span(words: Sequence[int]) -> tuple[int, int]:
        start = min(tokens[i].idx for i in words)
        end = max(tokens[i].idx + len(tokens[i].text) for i in words)
        return start, end

    name_tokens: dict[int, set[int]] = {}
    for node, names in proposal.names.items():
        name_tokens[node] = set(names[0].tokens)
    attrs: list[Attr] = []
    rels: list[Rel] = list(proposal.fixed)
    bare_keep: dict[int, bool] = {}
    # Names first: an attribute whose word joined a name is not also an attribute.
    for slot, choice in zip(proposal.slots, choices, strict=True):
        if slot.kind == "name":
            name: Name = slot.options[choice].value
            node = slot.key[0]
            nodes[node]["label"] = name.text
            nodes[node]["span"] = span(name.tokens)
            name_tokens[node] = set(name.tokens)
    for slot, choice in zip(proposal.slots, choices, strict=True):
        value = slot.options[choice].value
        if slot.kind == "attr" and value is not None:
            if slot.anchor is not None and slot.anchor in name_tokens.get(value.obj, set()):
                continue
            attrs.append(value)
        elif slot.kind == "rel" and value is not None:
            rels.append(value)
        elif slot.kind == "bare":
            bare_keep[slot.key[0]] = bool(value)
    return _rebuild(record, nodes, attrs, rels, bare_keep, span, proposal)


def _rebuild(
    record: dict[str, Any],
    nodes: list[dict[str, Any]],
    attrs: list[Attr],
    rels: list[Rel],
    bare_keep: Mapping[int, bool],
    span: Any,
    proposal: Proposal,
) -> dict[str, Any]:
    edges: list[dict[str, Any]] = record["edges"]
    # Rule predicate nodes that gave no fact (no agent) stay as they are.
    with_agent = {e["source"] for e in edges if e["type"] == "agent"}
    kept_nodes: list[dict[str, Any]] = []
    new_id: dict[int, int] = {}
    for node in nodes:
        if node["type"] == "object" or (
            node["type"] == "predicate" and node["id"] not in with_agent
        ):
            new_id[node["id"]] = len(kept_nodes)
            kept_nodes.append({**node, "id": len(kept_nodes)})
    pred_attrs: dict[int, list[int]] = {}
    for edge in edges:
        if edge["type"] == "pred_attr":
            pred_attrs.setdefault(edge["source"], []).append(edge["target"])
    out_edges: list[dict[str, Any]] = []
    keys: set[tuple[Any, ...]] = set()

    def add_edge(source: int, target: int, kind: str, preposition: str | None = None) -> None:
        key = (source, target, kind, preposition)
        if source != target and key not in keys:
            keys.add(key)
            out_edges.append(
                {"source": source, "target": target, "type": kind, "preposition": preposition}
            )

    def add_node(node: dict[str, Any]) -> int:
        node = dict(node)
        node["id"] = len(kept_nodes)
        kept_nodes.append(node)
        return int(node["id"])

    # Edges among the untouched nodes (predicates without an agent keep their arguments).
    for edge in edges:
        source, target = edge["source"], edge["target"]
        if (
            source in new_id
            and target in new_id
            and edge["type"] != "before"
            and edge["type"] != "overlaps"
        ):
            add_edge(new_id[source], new_id[target], edge["type"], edge["preposition"])
    for node_id, targets in pred_attrs.items():
        if node_id in new_id:
            for target in targets:
                if target not in new_id:
                    new_id[target] = add_node(nodes[target])
                add_edge(new_id[node_id], new_id[target], "pred_attr")
    for rel in rels:
        for ref in (rel.agent, rel.target):
            if ref is not None and ref not in new_id:
                # A noun the rules made no object of, named by a chosen relation.
                name = proposal.extra_objects[ref]
                head = proposal.tokens[name.tokens[-1]]
                new_id[ref] = add_node(
                    {"id": 0, "type": "object", "label": name.text, "lemma": head.lemma_.lower(),
                     "span": span(name.tokens), "number": "plural" if head.plural else "singular",
                     "count": None}
                )  # fmt: skip
    used: set[int] = set()
    for attr in attrs:
        attribute = add_node(
            {"id": 0, "type": "attribute", "label": attr.text, "lemma": None,
             "span": span(attr.tokens), "number": None, "count": None}
        )  # fmt: skip
        add_edge(new_id[attr.obj], attribute, "has_attribute")
        used.add(attr.obj)
    # One predicate node per (origin, label, agent): the rules' node when unchanged.
    copies: dict[int, list[int]] = {}
    groups: dict[tuple[Any, ...], int] = {}
    for rel in rels:
        key = (rel.origin, rel.label, rel.lemma, rel.agent, rel.tokens, rel.target is None)
        if key in groups:
            node_id = groups[key]
        else:
            if rel.origin is not None:
                base = dict(nodes[rel.origin])
            else:
                base = {"id": 0, "type": "predicate", "label": rel.label, "lemma": rel.lemma,
                        "span": span(rel.tokens) if rel.tokens else None, "number": None,
                        "count": None}  # fmt: skip
            node_id = groups[key] = add_node(base)
            if rel.origin is not None:
                copies.setdefault(rel.origin, []).append(node_id)
                for target in pred_attrs.get(rel.origin, []):
                    attribute = add_node(nodes[target])
                    add_edge(node_id, attribute, "pred_attr")
        add_edge(node_id, new_id[rel.agent], "agent")
        used.add(rel.agent)
        if rel.target is not None:
            if rel.patient:
                add_edge(node_id, new_id[rel.target], "patient")
            else:
                add_edge(node_id, new_id[rel.target], "prep_arg", rel.prep)
            used.add(rel.target)
    # Temporal edges follow the predicates (and their copies).
    for edge in edges:
        if edge["type"] not in ("before", "overlaps"):
            continue
        sources = copies.get(edge["source"]) or (
            [new_id[edge["source"]]] if edge["source"] in new_id else []
        )
        targets = copies.get(edge["target"]) or (
            [new_id[edge["target"]]] if edge["target"] in new_id else []
        )
        for source in sources:
            for target in targets:
                add_edge(source, target, edge["type"])
    # Objects in no fact that the model would leave out.
    in_edges = {e["target"] for e in out_edges} | {e["source"] for e in out_edges}
    dropped = {
        new_id[node]
        for node, keep in bare_keep.items()
        if not keep and node not in used and new_id[node] not in in_edges
    }
    if dropped:
        remap: dict[int, int] = {}
        compact: list[dict[str, Any]] = []
        for node in kept_nodes:
            if node["id"] in dropped:
                continue
            remap[node["id"]] = len(compact)
            node["id"] = len(compact)
            compact.append(node)
        kept_nodes = compact
        for edge in out_edges:
            edge["source"], edge["target"] = remap[edge["source"]], remap[edge["target"]]
    else:
        for position, node in enumerate(kept_nodes):
            node["id"] = position
    return tsg_dict(record["id"], record["text"], kept_nodes, out_edges)
