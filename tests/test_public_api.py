"""The public surface stays small and deliberate."""

import finsta_cli


def test_public_names() -> None:
    assert finsta_cli.__all__ == ["ExitCode", "FinstaError", "__version__"]
    for name in finsta_cli.__all__:
        assert hasattr(finsta_cli, name)
