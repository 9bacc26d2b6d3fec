"""tiktoken encodings built from the rank files shipped in `qa/data`: the network is never tried.

`tiktoken.get_encoding` downloads its rank files on first use (with no timeout), so the encoding is
constructed directly from the packaged, sha256-checked ranks instead.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from importlib import resources

import tiktoken

from qa.errors import ConfigError

# sha256 of the decompressed rank files: the same hashes tiktoken itself checks.
_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# The split patterns and special tokens are part of each encoding's definition (tiktoken_ext.openai_public).
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_SPEC = {
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}
ENCODINGS = tuple(sorted(_SPEC))


def _ranks(name: str) -> dict[bytes, int]:
    raw = resources.files("qa.data").joinpath(f"{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(raw)
    if hashlib.sha256(data).hexdigest() != _SHA256[name]:
        raise ConfigError(f"the packaged {name} rank file is corrupt (sha256 mismatch); reinstall qa")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def encoding(name: str = "o200k_base") -> tiktoken.Encoding:
    """The named encoding, loaded once per process from the packaged files."""
    if name not in _SPEC:
        raise ConfigError(f"unknown tokenizer encoding {name!r}; choose one of {', '.join(ENCODINGS)}")
    pattern, special = _SPEC[name]
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=_ranks(name), special_tokens=special)


def count_tokens(text: str, name: str = "o200k_base") -> int:
    """Tokens in `text`; special-token strings in documents count as plain text."""
    return len(encoding(name).encode_ordinary(text))
