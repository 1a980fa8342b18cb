"""One process or torchrun: rank/world set-up and the collectives align-train needs.

Under ``torchrun`` every rank takes a contiguous slice of the global batch. Contrastive losses
gather embeddings from all ranks *with gradient* (``torch.distributed.nn.functional.all_gather``),
so negatives span the global batch and every rank computes the same global loss; per-element
losses are local sums divided by the global count. Gradients are then averaged across ranks, which
makes a step equal to a single process on the same global batch (a test checks it with 2 gloo
ranks). gloo on CPU, NCCL on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Collective:
    """Rank ``rank`` of ``world`` processes; ``world == 1`` makes every call a no-op."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, x: Tensor) -> Tensor:
        """Concatenate every rank's ``x`` along dim 0 (sizes may differ), keeping gradients."""
        if self.world == 1:
            return x
        import torch.distributed as dist
        import torch.distributed.nn.functional as dist_fn

        size = torch.tensor([x.shape[0]], device=x.device)
        sizes = [torch.zeros_like(size) for _ in range(self.world)]
        dist.all_gather(sizes, size)
        counts = [int(s.item()) for s in sizes]
        longest = max(counts)
        padded = x
        if x.shape[0] < longest:
            pad = x.new_zeros((longest - x.shape[0], *x.shape[1:]))
            padded = torch.cat([x, pad], dim=0)
        if x.requires_grad or x.is_floating_point():
            parts = dist_fn.all_gather(padded)
        else:
            parts = [torch.zeros_like(padded) for _ in range(self.world)]
            dist.all_gather(parts, padded)
        return torch.cat([p[:n] for p, n in zip(parts, counts, strict=True)], dim=0)

    def gather_index(self, index: Tensor, local_size: int) -> Tensor:
        """Gather indices into per-rank arrays of ``local_size`` rows, shifted to global rows."""
        if self.world == 1:
            return index
        sizes = self.gather(torch.tensor([local_size], device=index.device))
        offsets = torch.cumsum(sizes, 0) - sizes
        counts = self.gather(torch.tensor([index.shape[0]], device=index.device))
        shift = torch.repeat_interleave(offsets, counts)
        return self.gather(index) + shift

    def sum(self, x: Tensor) -> Tensor:
        """Sum over ranks, no gradient (counts, logged values)."""
        if self.world == 1:
            return x
        import torch.distributed as dist

        y = x.detach().clone()
        dist.all_reduce(y)
        return y

    def average_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        if self.world == 1:
            return
        import torch.distributed as dist

        for p in parameters:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad)
            p.grad.div_(self.world)

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def init_collective(device: str) -> Collective:
    """Join the torchrun process group when launched by torchrun (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Collective()
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
    return Collective(rank=dist.get_rank(), world=dist.get_world_size())


def close_collective(collective: Collective) -> None:
    if collective.world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
