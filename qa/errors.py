"""The exception tree. Every message says what went wrong and what to do next."""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error qa raises on purpose."""


class ConfigError(QAError):
    """A setting is missing, malformed or contradicts the index."""


class IngestError(QAError):
    """A file could not be loaded; `reason` is one line a user can act on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EmbedderMismatchError(ConfigError):
    """The index was built with another embedder than the one asked for."""


class StoreError(QAError):
    """The vector store could not be reached or answered with an error."""


class NotFoundError(QAError):
    """A document id or path is not in the index."""


class BackendError(QAError):
    """A model endpoint (embeddings or chat) failed."""


class BackendTimeoutError(BackendError):
    """A model endpoint did not finish within the time allowed (QA_TIMEOUT)."""


class InputError(QAError):
    """A question, query or id given to qa cannot be used as it is (too long, or not valid text)."""


class EmptyIndexError(QAError):
    """The index holds no documents, so there is nothing to search or answer from; `where` names the index."""

    def __init__(self, where: str) -> None:
        super().__init__(f"the index holds no documents ({where}); add some with `qa ingest <folder>`")
        self.where = where


REDACTED = "[redacted]"


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each secret (an API key) replaced: an endpoint's error message may
    repeat the key it was sent, and such messages reach users, logs and reports."""
    for secret in secrets:
        if secret and len(secret.strip()) >= 4:
            text = text.replace(secret.strip(), REDACTED)
    return text


def abbreviated(text: str, limit: int = 60) -> str:
    """A user's input as an error message quotes it: whole when short, else its start and its length."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"
