"""Stops for a diverging align-train run: a non-finite loss, gradient or weight ends the run
before it reaches the weights or a saved file.

One bad step is not skipped (as AMP's loss scaler skips fp16 overflows): training here runs in
fp32, or bf16 with fp32's range, so a NaN or infinite loss means bad inputs or diverged weights,
which the next steps would not repair, and a skipped step would break the exact resume
(docs/align-train.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from finsta_cli.errors import NonFiniteError
from finsta_cli.io.finite import find_non_finite

if TYPE_CHECKING:
    import torch


def last_good(state: Path, step: int | None) -> str:
    """The hint's part that says what is kept: the run's last train state, if any."""
    if step is None:
        return "this run saved no train state yet"
    return f"the last good train state (step {step}) is kept in {state}"


def check_losses(step: int, losses: dict[str, float], videos: list[str], last_good: str) -> None:
    """Stop the run at a non-finite loss, naming the terms that are not finite."""
    total = losses.get("loss", math.nan)
    if math.isfinite(total) and all(math.isfinite(v) for v in losses.values()):
        return
    terms = [f"{name} {value}" for name, value in losses.items()
             if name != "loss" and not math.isfinite(value)]  # fmt: skip
    what = (f"component{'s' if len(terms) > 1 else ''}: {', '.join(terms)}" if terms
            else "every component is finite: their weighted sum overflowed")  # fmt: skip
    shown = ", ".join(videos[:8]) + (", ..." if len(videos) > 8 else "")
    raise NonFiniteError(
        f"step {step}: loss is {total} ({what}); batch videos: {shown}",
        hint=f"nothing of this step was applied; {last_good}. Lower --lr, or check the inputs "
        "of these videos",
    )


def check_gradients(step: int, norm: float, model: torch.nn.Module, last_good: str) -> None:
    """Stop the run when the gradients are not finite (before the optimizer applies them)."""
    if math.isfinite(norm):
        return
    bad = [name for name, p in model.named_parameters()
           if p.grad is not None and not bool(p.grad.isfinite().all())]  # fmt: skip
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    raise NonFiniteError(
        f"step {step}: gradient norm is {norm} (not finite in {shown or 'the gradients'})",
        hint=f"nothing of this step was applied; {last_good}. Lower --lr",
    )


def check_weights(step: int, model: torch.nn.Module, last_good: str) -> None:
    """Refuse to save weights that an update made non-finite (the loss was still finite)."""
    found = find_non_finite(model.state_dict())
    if found is not None:
        raise NonFiniteError(
            f"step {step}: the weights are not finite after the update: {found.describe()}; "
            "not saved",
            hint=f"{last_good}. Lower --lr",
        )
