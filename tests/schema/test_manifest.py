"""Tests of finsta_cli/schema/manifest.py: the run manifest's required fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finsta_cli.schema import RunManifest


def test_manifest_requires_its_fields() -> None:
    with pytest.raises(ValidationError, match="stage"):
        RunManifest.model_validate({"version": "0.1.0", "status": "completed"})
