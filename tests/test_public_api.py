"""The public surface is `qa.__all__`; pinning it makes every change to it deliberate."""

import qa


def test_public_names_are_pinned() -> None:
    assert qa.__all__ == [
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
    assert all(hasattr(qa, name) for name in qa.__all__)


def test_every_error_is_a_qa_error() -> None:
    for name in qa.__all__:
        obj = getattr(qa, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, qa.QAError)


def test_settings_precedence_arguments_then_environment_then_defaults(tmp_path) -> None:
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
