"""The lexical index's disk cache: a base segment written whole (postings as NumPy arrays, ids, documents and
vocabulary as JSON), and beside it `qa.json`, small: the revision, the base it belongs to, the base chunks
removed since and the chunks added since (with their terms, so that reading them tokenizes nothing).

Writing the base swaps in a whole new folder; writing the delta replaces `qa.json` alone, so a change costs a
write the size of the change. Both are atomic renames: processes writing at once leave one complete cache, and
a delta written over another process's base is recognised by the base's label and not applied.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.bm25 import Layout, Postings

FORMAT = 2  # the layout of the cache; format 1 (bm25s's own files) is rebuilt


@dataclass(frozen=True)
class Saved:
    """A cache as read: the base (every chunk alive), then what changed since it was written."""

    base: Postings
    layout: Layout
    revision: str
    gone: list[int]  # positions of base chunks removed since
    added: list[tuple[str, str, list[str]]]  # (chunk_id, doc_id, terms) of the chunks added since


def base_label(folder: Path) -> str | None:
    """The label of the base the cache in `folder` holds, if there is one."""
    try:
        return str(json.loads((folder / "qa.json").read_text())["base"])
    except (OSError, ValueError, KeyError):
        return None


def write_base(folder: Path, base: Postings, layout: Layout, revision: str) -> None:
    """Replace the whole cache with this base and no changes since."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
    np.savez(staging / "postings.npz", indptr=base.indptr, positions=base.positions, tf=base.tf, lengths=layout.lengths)
    names = {"label": base.label, "ids": layout.ids, "docs": layout.docs, "vocab": list(base.vocab)}
    (staging / "base.json").write_text(json.dumps(names))
    _write_json(staging / "qa.json", _delta(base.label, revision, [], []))
    retired = folder.with_name(f".{folder.name}-old-{uuid.uuid4().hex}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(folder, retired)
    try:
        os.rename(staging, folder)
    except OSError:  # another process put its fresh cache in place first: keep that one
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)


def write_delta(
    folder: Path, label: str, revision: str, gone: list[int], added: list[tuple[str, str, list[str]]]
) -> None:
    """Record, over the base `label` already in `folder`, what changed since it was written."""
    _write_json(folder / "qa.json", _delta(label, revision, gone, added))


def _delta(label: str, revision: str, gone: list[int], added: list[tuple[str, str, list[str]]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "base": label,
        "revision": revision,
        "gone": gone,
        "ids": [cid for cid, _, _ in added],
        "docs": [doc for _, doc, _ in added],
        "terms": [words for _, _, words in added],
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    staging = path.with_name(f".{path.name}-{uuid.uuid4().hex}")
    staging.write_text(json.dumps(data))
    os.replace(staging, path)


def read(folder: Path) -> Saved | None:
    """The cache in `folder`; None when there is none, it has an older layout, or it changed while being read.
    A delta that belongs to another base is not applied: the base is returned at no known revision."""
    try:
        meta = json.loads((folder / "qa.json").read_text())
        names = json.loads((folder / "base.json").read_text())
        if meta.get("format") != FORMAT:
            return None
        with np.load(folder / "postings.npz") as saved:
            indptr, positions, tf, lengths = (saved[key] for key in ("indptr", "positions", "tf", "lengths"))
        ids, docs, vocab = list(names["ids"]), list(names["docs"]), names["vocab"]
        added = list(zip(meta["ids"], meta["docs"], meta["terms"], strict=True))
        gone, revision, label = list(meta["gone"]), str(meta["revision"]), str(names["label"])
    except (OSError, ValueError, KeyError):
        return None
    if not (len(ids) == len(docs) == len(lengths) and len(indptr) == len(vocab) + 1):
        return None
    if meta["base"] != label:
        gone, added, revision = [], [], ""
    base = Postings({term: i for i, term in enumerate(vocab)}, indptr, positions, tf, label)
    return Saved(base, Layout(ids, docs, lengths, np.ones(len(ids), bool)), revision, gone, added)
