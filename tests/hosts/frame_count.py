"""Counting the decoded videos alive in this process: what bounds evaluation's memory."""

from __future__ import annotations

import gc

import torch


def live_decoded_videos(num_frames: int, size: int) -> int:
    """How many videos' worth of host frames live tensors hold now: uint8 tensors whose last
    dims are (S, S, 3), counted once per storage (a batch sliced from a set shares its set's)."""
    storages: dict[int, int] = {}
    for obj in gc.get_objects():
        if (
            issubclass(type(obj), torch.Tensor)  # type(): some module proxies warn on isinstance
            and obj.dtype == torch.uint8
            and obj.dim() >= 4
            and tuple(obj.shape[-3:]) == (size, size, 3)
        ):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values()) // (num_frames * size * size * 3)
