"""Stops for a diverging run: non-finite losses, gradients and weights are named."""

from __future__ import annotations

import math

import pytest
import torch

from finsta_cli.align.checks import check_gradients, check_losses, check_weights
from finsta_cli.errors import NonFiniteError


def test_a_non_finite_loss_names_its_terms() -> None:
    good = "the last good train state (step 2) is kept in RUN/train_state.pt"
    check_losses(3, {"vtc": 1.0, "osc": 0.5, "loss": 1.5}, ["a", "b"], good)  # finite: fine
    with pytest.raises(NonFiniteError) as info:
        check_losses(3, {"vtc": 1.0, "osc": math.nan, "loss": math.nan}, ["a", "b"], good)
    assert info.value.message == "step 3: loss is nan (component: osc nan); batch videos: a, b"
    assert info.value.hint is not None and good in info.value.hint
    with pytest.raises(NonFiniteError, match=r"\(components: osc nan, kd inf\)"):
        check_losses(4, {"osc": math.nan, "kd": math.inf, "loss": math.nan}, ["a"], good)
    with pytest.raises(NonFiniteError, match="every component is finite: their weighted sum"):
        check_losses(5, {"vtc": 3e38, "osc": 3e38, "loss": math.inf}, ["a"], good)


def test_non_finite_gradients_and_weights_are_named() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    check_gradients(7, 0.0, model, "no state")  # finite: fine
    model[1].weight.grad[0, 0] = math.inf  # type: ignore[index]
    with pytest.raises(
        NonFiniteError, match=r"^step 7: gradient norm is inf \(not finite in 1\.weight\)"
    ):
        check_gradients(7, math.inf, model, "no state")
    check_weights(8, model, "no state")
    with torch.no_grad():
        model[0].bias[1] = math.nan  # type: ignore[index]
    with pytest.raises(
        NonFiniteError, match=r"^step 8: the weights are not finite after the update: '0\.bias'"
    ):
        check_weights(8, model, "no state")
