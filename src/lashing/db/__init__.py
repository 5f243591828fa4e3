"""The offline advisory database: OSV exports imported into one SQLite file under the cache dir."""

from lashing.db.store import (
    Advisory,
    AdvisoryStore,
    AffectedRow,
    DatabaseError,
    DatabaseMissingError,
    database_path,
    normalize_name,
)

__all__ = [
    "Advisory",
    "AdvisoryStore",
    "AffectedRow",
    "DatabaseError",
    "DatabaseMissingError",
    "database_path",
    "normalize_name",
]
