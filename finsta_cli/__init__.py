"""finsta: structural spatio-temporal alignment (Finsta) for video-language models."""

from finsta_cli.errors import ExitCode, FinstaError

__version__ = "0.1.0"

__all__ = ["ExitCode", "FinstaError", "__version__"]
