"""One small error hierarchy; only the CLI turns it into a message and an exit code."""

from __future__ import annotations


class LashingError(Exception):
    """Base error: its message is shown to the user as one line."""

    exit_code = 2


class InvalidImageError(LashingError):
    """The image (archive, layout, manifest, layer) is malformed, hostile or unsupported."""


class DigestMismatchError(InvalidImageError):
    """A blob's content does not hash to the digest that names it."""


class LimitExceededError(InvalidImageError):
    """A size, count or ratio bound was exceeded (decompression bombs, huge members)."""


class RegistryError(LashingError):
    """The registry refused or failed a request."""


class AuthenticationError(RegistryError):
    """The registry rejected our credentials or asked for some we do not have."""


class CacheError(LashingError):
    """The local cache is unusable."""


class UsageError(LashingError):
    """The command line asks for something impossible."""
