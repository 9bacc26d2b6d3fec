"""What the extractive backend reads together and what it never answers with, on a documentation page built as
Sphinx builds them (a title, navigation links, headings and signatures ending with a permalink "¶", code in
<pre>): a heading or a label is no answer of its own, a line of code answers only when code is asked for, a colon
is read with the short snippet it introduces, and a sentence that says "not" answers a yes-no question that
restates it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import QA
from qa.answer.extractive import candidates
from qa.answer.reading import label, pointer, referent, topic
from qa.ingest.loaders import load
from qa.records import Hit, Passage, Span
from qa.text.sentences import units
from tests.conftest import MakeQA
from tests.test_extractive import quotes_of

pytestmark = pytest.mark.embedded_only  # the store is not what is tested here

GLOBBING_HTML = """<html><head><title>globbing — Pathname pattern expansion — Example 1.0 documentation</title></head>
<body>
<div class="related"><ul><li><a href="index.html">index</a></li><li><a href="pathlib.html">next</a> |</li></ul></div>
<h3>Previous topic</h3><p><a href="tempfile.html"><code>tempfile</code> — Generate temporary files</a></p>
<section id="globbing">
<h1><code>globbing</code> — Pathname pattern expansion<a class="headerlink" href="#globbing">¶</a></h1>
<p>The <code>globbing</code> module finds all the pathnames matching a pattern, in arbitrary order.</p>
<p>No tilde expansion is done, but <code>*</code> and <code>?</code> are matched.
For tilde expansion, use <code>os.path.expanduser()</code>.</p>
<p>Files whose names start with a dot can only be matched by patterns that also start with a dot.</p>
<dl class="py function">
<dt class="sig sig-object py" id="globbing.expand"><span>globbing.expand(pattern, *, hidden=False)</span>
<a class="headerlink" href="#globbing.expand">¶</a></dt>
<dd><p>Return a list of the pathnames that match <em>pattern</em>.</p>
<p>The list made by <code>expand()</code> does not include broken symbolic links.</p>
<p>To expand a pattern in every folder below the current one, write:</p>
<pre><span>globbing.expand("**/*.txt", recursive=True)</span></pre>
</dd></dl>
<pre>&gt;&gt;&gt; import globbing
&gt;&gt;&gt; globbing.expand("*.gif")
['card.gif']</pre>
</section>
</body></html>
"""


@pytest.fixture
def globbing_qa(make_qa: MakeQA, tmp_path: Path) -> QA:
    (tmp_path / "globbing.html").write_text(GLOBBING_HTML, encoding="utf-8")
    qa = make_qa(backend="extractive")
    qa.ingest([tmp_path / "globbing.html"])
    return qa


def page_candidates(tmp_path: Path, code: bool) -> list[str]:
    """The texts the extractive backend may answer with, over the whole page read as one passage."""
    path = tmp_path / "globbing.html"
    path.write_text(GLOBBING_HTML, encoding="utf-8")
    text = load(path, 1_000_000).text
    span = Span(doc_id="d", source=str(path), start=0, end=len(text), text=text)
    passage = Passage(1, Hit(chunk_id="d-0", span=span, score=1.0))
    return [c.text for c in candidates([passage], code=code)]


def test_a_heading_a_title_and_navigation_are_no_answers(tmp_path: Path) -> None:
    found = page_candidates(tmp_path, code=False)
    assert "No tilde expansion is done, but `*` and `?` are matched." in found
    assert "Return a list of the pathnames that match *pattern*." in found or any("Return a list" in f for f in found)
    assert not any(f.endswith(("¶", "documentation", "Previous topic", "Generate temporary files")) for f in found)
    assert not any(f in ("index", "next |") for f in found), found  # a run of navigation links


def test_a_title_answers_when_a_title_is_asked_about(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    path.write_text("Troops reach the front\n\nSome 12 000 soldiers reached the front on Monday.\n", encoding="utf-8")
    text = load(path, 1_000_000).text
    passage = Passage(1, Hit(chunk_id="n-0", span=Span("n", str(path), 0, len(text), text), score=1.0))
    assert [c.text for c in candidates([passage])] == ["Some 12 000 soldiers reached the front on Monday."]
    assert "Troops reach the front" in [c.text for c in candidates([passage], titles=True)]


def test_a_sentence_that_refers_back_is_also_read_with_the_sentence_it_refers_to(tmp_path: Path) -> None:
    path = tmp_path / "interpreter.txt"
    said = (
        "When a script file is used, it is sometimes useful to run the script and enter interactive mode "
        "afterwards. This can be done by passing -i before the script. Exit with Control-D."
    )
    path.write_text(said + "\n", encoding="utf-8")
    text = load(path, 1_000_000).text
    passage = Passage(1, Hit(chunk_id="i-0", span=Span("i", str(path), 0, len(text), text), score=1.0))
    found = [c.text for c in candidates([passage])]
    assert "This can be done by passing -i before the script." in found  # alone, as before
    assert said[: said.index(" Exit")] in found  # and with its referent
    assert not any(f.endswith("Exit with Control-D.") and f != "Exit with Control-D." for f in found)
    reasons = [c.text for c in candidates([passage], refer_back=True)]  # asked why: only with its referent
    assert "This can be done by passing -i before the script." not in reasons


@pytest.mark.parametrize(
    ("second", "refers"),
    [
        ("The latter is called for a deep copy; it is passed one argument, the memo dictionary.", True),
        ("It is passed one argument, the memo dictionary.", False),  # "it is": too common an opening to follow
        ("They take no arguments.", True),
        ("Itertools has a recipe for it.", False),
    ],
)
def test_the_latter_the_former_it_and_they_refer_back(second: str, refers: bool) -> None:
    first = "A class can define the special methods __copy__() and __deepcopy__()."
    text = f"{first} {second}"
    found = units(text)
    assert (referent(found, 1, text) is not None) is refers


def test_a_line_of_code_is_a_candidate_only_when_code_is_asked_for(tmp_path: Path) -> None:
    assert not any(f.startswith(">>>") for f in page_candidates(tmp_path, code=False))
    assert ">>> import globbing" in page_candidates(tmp_path, code=True)


def test_a_colon_is_read_with_the_snippet_it_introduces(globbing_qa: QA) -> None:
    quotes = quotes_of(globbing_qa, "How do I expand a pattern in every folder below the current one?")
    assert quotes and quotes[0].startswith("To expand a pattern in every folder below the current one, write:"), quotes
    assert 'globbing.expand("**/*.txt", recursive=True)' in quotes[0], quotes


def test_a_sentence_that_says_not_answers_the_question_it_restates(globbing_qa: QA) -> None:
    quotes = quotes_of(globbing_qa, "Does the list made by expand() include broken symbolic links?")
    assert quotes and "does not include broken symbolic links" in quotes[0], quotes


def test_a_cross_reference_is_no_answer() -> None:
    text = "No tilde expansion is done. See module `fnmatch` for pathname expansion. (See also section 3.)"
    passage = Passage(1, Hit(chunk_id="p-0", span=Span("p", "page.md", 0, len(text), text), score=1.0))
    assert [c.text for c in candidates([passage])] == ["No tilde expansion is done."]
    assert pointer("See also the documentation for `sys.version`.")
    assert not pointer("Seeing the output, the user can tell which files matched.")


def test_labels_are_short_lines_alone_that_end_no_sentence() -> None:
    text = "Previous topic\n\n`tempfile` — Generate temporary files\n\nNo tilde expansion is done.\n\nSee also:\n"
    text += "\nCapital: Paris\n"
    found = units(text)
    assert [label(found, i, text) for i in range(len(found))] == [True, True, False, False, False]
    contents = "Table of Contents\n`hash.update()`\n`hash.digest()`\nOne sentence on its own line.\nAnother.\n"
    found = units(contents)
    assert [label(found, i, contents) for i in range(len(found))] == [True, True, True, False, False]


GZIP = (
    "The mode argument can be 'rb' or 'wb'. The default is 'rb'.\n\n"
    "The compresslevel argument is an integer from 0 to 9 controlling the level of compression. "
    "1 is fastest, and 9 is slowest. 0 is no compression. The default is 9.\n\n"
    "The mtime argument is an optional timestamp. It defaults to the current time.\n"
)


def test_a_default_stated_without_saying_whose_is_read_with_its_paragraphs_first_sentence() -> None:
    passage = Passage(1, Hit(chunk_id="g-0", span=Span("g", "gzip.txt", 0, len(GZIP), GZIP), score=1.0))
    read = {c.text: c.context for c in candidates([passage])}
    assert read["The default is 9."].startswith("The compresslevel argument is an integer")  # read, not quoted
    assert read["The default is 'rb'."] == "The mode argument can be 'rb' or 'wb'."
    assert read["It defaults to the current time."] == "The mtime argument is an optional timestamp."
    assert read["0 is no compression."] == ""  # a sentence that says whose on its own
    found = units(GZIP)
    assert topic(found, 0, GZIP) is None  # the paragraph's own first sentence


def test_the_default_asked_for_is_the_one_whose_paragraph_names_it(make_qa: MakeQA, tmp_path: Path) -> None:
    (tmp_path / "gzip.txt").write_text(GZIP, encoding="utf-8")
    qa = make_qa(backend="extractive")
    qa.ingest([tmp_path / "gzip.txt"])
    assert quotes_of(qa, "What is the default compresslevel?")[:1] == ["The default is 9."]
    assert quotes_of(qa, "What is the default mode?")[:1] == ["The default is 'rb'."]
