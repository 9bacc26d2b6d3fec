"""qa: ask questions of your own documents and get answers with quoted, checkable sources."""

from qa.api import QA
from qa.errors import (
    BackendError,
    BackendTimeoutError,
    ConfigError,
    EmbedderMismatchError,
    EmptyIndexError,
    IngestError,
    InputError,
    NotFoundError,
    QAError,
    StoreError,
)
from qa.records import Answer, Chunk, Citation, DocInfo, Document, Hit, IngestReport
from qa.settings import Settings

__all__ = [
    "QA",
    "Answer",
    "BackendError",
    "BackendTimeoutError",
    "Chunk",
    "Citation",
    "ConfigError",
    "DocInfo",
    "Document",
    "EmbedderMismatchError",
    "EmptyIndexError",
    "Hit",
    "IngestError",
    "IngestReport",
    "InputError",
    "NotFoundError",
    "QAError",
    "Settings",
    "StoreError",
]
