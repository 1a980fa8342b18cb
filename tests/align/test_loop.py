"""align-train's step loop: the batch plan and the schedule, deterministic CPU kernels."""

from __future__ import annotations

import itertools

import pytest
import torch

from finsta_cli.align.loop import BatchPlan, deterministic_on_cpu, schedule_factor


def test_batch_plan_is_a_function_of_seed_and_step() -> None:
    plan = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=5)
    assert plan.per_epoch == 2
    again = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=5)
    assert [plan.batch(s) for s in range(6)] == [again.batch(s) for s in range(6)]
    for step in range(6):
        batch = plan.batch(step)
        assert len(batch) == 3 and len({v for v, _ in batch}) == 3
        assert all(0 <= c < plan.counts[v] for v, c in batch)
    # An epoch never shows a video twice; another seed gives another order.
    epoch = [v for s in range(2) for v, _ in plan.batch(s)]
    assert len(set(epoch)) == 6
    other = BatchPlan([1, 2, 3, 1, 2, 2, 1], batch_size=3, seed=6)
    assert [other.batch(s) for s in range(6)] != [plan.batch(s) for s in range(6)]


def test_schedule_warms_up_then_decays_to_zero() -> None:
    factors = [schedule_factor(step, 4, 20) for step in range(21)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[4:]))
    assert factors[20] == pytest.approx(0.0, abs=1e-12)
    assert schedule_factor(0, 0, 10) == pytest.approx(1.0)


def test_cpu_training_picks_deterministic_kernels() -> None:
    """With 2 threads the backward of x[index] (the graph encoders' gathers) adds in an order
    that depends on thread timing; inside align-train's CPU setting it does not, and the
    setting is undone afterwards."""
    threads = torch.get_num_threads()
    generator = torch.Generator().manual_seed(0)
    nodes = torch.randn(50, 32, generator=generator)
    index = torch.randint(0, 50, (5000,), generator=generator)
    weight = torch.randn(5000, 32, generator=generator)

    def gradient() -> torch.Tensor:
        x = nodes.clone().requires_grad_(True)
        (x[index] * weight).sum().backward()
        assert x.grad is not None
        return x.grad

    torch.set_num_threads(2)
    restore = deterministic_on_cpu("cpu")
    try:
        assert torch.are_deterministic_algorithms_enabled()
        first = gradient()
        assert all(torch.equal(first, gradient()) for _ in range(10))
    finally:
        restore()
        torch.set_num_threads(threads)
    assert not torch.are_deterministic_algorithms_enabled()
    deterministic_on_cpu("cuda:0")()  # CUDA: left as it is
    assert not torch.are_deterministic_algorithms_enabled()
