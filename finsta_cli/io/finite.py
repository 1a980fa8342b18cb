"""Finite numbers only: the one JSON encoder (NaN and infinities refused, naming where they are)
and the check of the tensors finsta reads or writes.

Python's ``json.dumps`` writes a float NaN as a bare ``NaN``, which no strict JSON reader takes;
a NaN tensor read from a file spreads through every loss and embedding it touches and ends as
plausible-looking figures. Both are stopped here with a message that names the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from finsta_cli.errors import NonFiniteError

_MAX_DEPTH = 32


def dumps_json(obj: Any, *, where: str, indent: int | None = None, sort_keys: bool = False) -> str:
    """``obj`` as JSON text (UTF-8 kept, not escaped); a NaN or infinite number anywhere in it
    raises :class:`NonFiniteError` naming ``where`` (a file, "--json output") and the key path
    of the value, instead of writing text that is not JSON."""
    try:
        return json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                          allow_nan=False)  # fmt: skip
    except ValueError:
        found = _non_finite_number(obj, "", 0)
        if found is None:
            raise  # another ValueError (a circular reference): not ours to reword
        path, value = found
        raise NonFiniteError(
            f"{where}: {path or 'the value'} is {value!r}: a non-finite number is not valid "
            "JSON and is not written"
        ) from None


def _non_finite_number(obj: Any, path: str, depth: int) -> tuple[str, float] | None:
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path, obj)
    if depth > _MAX_DEPTH:
        return None
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            found = _non_finite_number(value, f"{path}.{key}" if path else str(key), depth + 1)
            if found is not None:
                return found
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            found = _non_finite_number(value, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class NonFinite:
    """A tensor (or number) holding NaN or infinite values: its key path and the counts."""

    name: str
    nan: int
    inf: int
    size: int
    others: int = 0  # further tensors of the same file that are not finite either

    def describe(self) -> str:
        kinds = [f"{count} {kind}" for count, kind in ((self.nan, "NaN"), (self.inf, "infinite"))
                 if count]  # fmt: skip
        text = f"{self.name!r} holds {' and '.join(kinds)} of {self.size} values"
        if self.others:
            text += f" (and {self.others} other tensor(s) are not finite either)"
        return text


def find_non_finite(tree: Any) -> NonFinite | None:
    """The first floating tensor or float in ``tree`` (nested mappings, lists and tuples, as
    ``torch.load`` gives them) that holds NaN or an infinity, with how many others do; None
    when every number is finite. Integer tensors are finite by construction and skipped."""
    found = list(_non_finite_leaves(tree, "", 0))
    if not found:
        return None
    first = found[0]
    return NonFinite(first.name, first.nan, first.inf, first.size, others=len(found) - 1)


def _non_finite_leaves(obj: Any, path: str, depth: int) -> Iterator[NonFinite]:
    import torch

    if isinstance(obj, torch.Tensor):
        floating = obj.is_floating_point() or obj.is_complex()
        if floating and obj.numel() and not bool(torch.isfinite(obj).all()):
            nan = int(torch.isnan(obj).sum())
            inf = int(torch.isinf(obj).sum())
            yield NonFinite(path or "tensor", nan, inf, obj.numel())
        return
    if isinstance(obj, float):
        if not math.isfinite(obj):
            yield NonFinite(path or "value", int(math.isnan(obj)), int(math.isinf(obj)), 1)
        return
    if depth > _MAX_DEPTH:
        return
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _non_finite_leaves(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            yield from _non_finite_leaves(value, f"{path}[{index}]", depth + 1)


def require_finite(
    tree: Any, source: str, *, what: str = "tensor", hint: str | None = None
) -> None:
    """Raise :class:`NonFiniteError` ``"SOURCE: WHAT 'NAME' holds N NaN of M values"`` when a
    tensor or number in ``tree`` is NaN or infinite (see :func:`find_non_finite`)."""
    found = find_non_finite(tree)
    if found is not None:
        raise NonFiniteError(f"{source}: {what} {found.describe()}", hint=hint)
