"""Exceptions raised by `storage/`, each with a one-line message that names the problem.

Why a hierarchy: the command line maps any `StorageError` to a non-zero exit and prints its
message, and callers can catch the precise case (a bad URL is the user's to fix, an unreachable
server may be retried, a too-new schema needs a newer mllm-audit) without parsing driver errors.
Messages never contain a database password (URLs are rendered with the password masked).
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by `storage/`."""


class InvalidDatabaseURLError(StorageError, ValueError):
    """The database URL cannot be parsed or names a backend mllm-audit does not support."""


class DatabaseDriverMissingError(StorageError, ImportError):
    """The URL is fine but the Python driver for it is not installed (e.g. psycopg)."""


class DatabaseUnreachableError(StorageError, ConnectionError):
    """The database server (or SQLite file) could not be opened."""


class SchemaError(StorageError):
    """The database schema is not one this version of mllm-audit can use."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer mllm-audit than the one running."""


class SchemaOutdatedError(SchemaError):
    """The database schema is older than the code and will not be upgraded implicitly."""


class SchemaNotManagedError(SchemaError):
    """The database holds mllm-audit tables that were not created by its migrations."""


class StorageInputError(StorageError, ValueError):
    """A record handed to the repository is inconsistent (wrong probe key, bad shape...)."""


class MapEncodingError(StorageInputError):
    """An attribution map cannot be stored losslessly as float16 (non-finite, too large, not 2-D)."""


class IdentityConflictError(StorageError):
    """A record claims an existing identity but differs in what must never change.

    Example: model `demo` version `3` already stored with another weights hash.
    """


class NotFoundError(StorageError, LookupError):
    """A run, model version or probe set with the given id does not exist."""
