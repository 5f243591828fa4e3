"""lashing: container security through the whole lifecycle."""

__version__ = "0.1.0"
