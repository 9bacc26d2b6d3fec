"""The public surface is `qa.__all__`: every name in it is importable from `qa`, nothing public is exported
outside it, and every record and error the README's user guide shows is in it."""

import inspect
import re
from pathlib import Path
from types import ModuleType

import qa
import qa.errors
import qa.records

README = Path(__file__).resolve().parents[1] / "README.md"


def user_guide() -> str:
    """The README from "## Using it" to the next top-level section: what a user of the library reads."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Using it\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def classes_of(module: ModuleType) -> dict[str, type]:
    """The classes a module of ours defines or re-exports (not third-party ones it imports)."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and obj.__module__.startswith("qa.") and not name.startswith("_")
    }


def test_every_name_in_all_is_importable_and_listed_once() -> None:
    assert len(set(qa.__all__)) == len(qa.__all__)
    namespace: dict[str, object] = {}
    exec("from qa import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(qa.__all__)
    assert all(namespace[name] is getattr(qa, name) for name in qa.__all__)


def test_nothing_public_is_exported_outside_all() -> None:
    exported = {n for n, obj in vars(qa).items() if not n.startswith("_") and not isinstance(obj, ModuleType)}
    assert exported == set(qa.__all__)


def test_every_record_and_error_the_readme_shows_is_in_all() -> None:
    shown = set(re.findall(r"\b[A-Z][A-Za-z]+\b", user_guide()))
    public = classes_of(qa.records) | classes_of(qa.errors) | {"QA": qa.QA, "Settings": qa.Settings}
    in_readme = shown & set(public)
    assert {"QA", "Answer", "Citation", "DocInfo", "IngestReport", "EmptyIndexError"} <= in_readme
    assert in_readme <= set(qa.__all__), in_readme - set(qa.__all__)


def test_every_error_class_is_in_all() -> None:
    errors = {n for n, obj in classes_of(qa.errors).items() if issubclass(obj, Exception)}
    assert "QAError" in errors and len(errors) > 5
    assert errors <= set(qa.__all__), errors - set(qa.__all__)


def test_every_error_is_a_qa_error() -> None:
    for name in qa.__all__:
        obj = getattr(qa, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, qa.QAError)


def test_settings_precedence_arguments_then_environment_then_defaults(tmp_path: Path) -> None:
    env = {"QA_K": "9", "QA_COLLECTION": "from-env", "QA_HOME": str(tmp_path)}
    settings = qa.Settings.from_env(env, collection="from-args", k=None)
    assert (settings.collection, settings.k, settings.home) == ("from-args", 9, tmp_path)
    assert qa.Settings.from_env({}).home.name == ".qa"


def test_bad_settings_say_what_to_do() -> None:
    import pytest

    with pytest.raises(qa.ConfigError, match="QA_K=.* is not a number"):
        qa.Settings.from_env({"QA_K": "many"})
    with pytest.raises(qa.ConfigError, match="collection name"):
        qa.Settings(collection="x")
    with pytest.raises(qa.ConfigError, match="QA_EMBEDDER"):
        qa.Settings(embedder="word2vec")
