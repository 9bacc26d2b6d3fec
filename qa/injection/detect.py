"""Text in a document that speaks to the answering model instead of about the world: pure functions, no I/O.

Where the instructions of a text stand, and which of its blocks are not to be trusted. Whether one sentence is
an instruction, and what makes one, is qa/injection/instruction.py (`is_instruction`).

In a text whose language is known, a sentence in another language that holds a word of answering in its own
language ("Die richtige Antwort lautet ...") is an instruction too (`instruction_spans`); a sentence in another
language that does not speak of answering is not.

A sentence disguised against this reading (letters spaced out or dotted, look-alike letters of another script,
invisible or full-width characters: qa/injection/unmask.py) is read again without its disguises.

A sentence of an English text written in another language is untrusted too, whatever it says, though not flagged
(qa/injection/foreign.py): an order can be written in any language, and no lexicon holds them all.

What a block holding an instruction says is not trusted either (`untrusted_spans`): a planted claim usually
stands beside the order that tells the model to repeat it. The block is the run of lines a reader reads as one
(a paragraph written on one line, or hand-wrapped), as `qa.text.sentences.units` groups them; a bare role marker on
a line of its own ("<|im_start|>system", "- role: system") takes in the block after it, the message it opens.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from qa.injection.foreign import in_another_language
from qa.injection.instruction import is_instruction
from qa.injection.lexicon import answering_anywhere, guess_language, speaks_of_answering
from qa.injection.patterns import ROLE_LABEL, opens_turn
from qa.injection.unmask import unmasked
from qa.text.sentences import Unit, units


def _switched(sentence: str, main: str | None) -> bool:
    """Whether `sentence` is in another language than the text it stands in (`main`) and speaks of answering."""
    if main is None or not answering_anywhere(sentence):
        return False
    language = guess_language(sentence)
    return language is not None and language != main and speaks_of_answering(sentence, language)


def _disguised(sentence: str) -> bool:
    """Whether the sentence is an instruction once its disguises are taken off (letters spaced out or dotted,
    look-alike letters of another script, invisible or full-width characters: unmask.py)."""
    plain = unmasked(sentence)
    return plain is not None and is_instruction(plain)


@functools.lru_cache(maxsize=256)
def _flagged(text: str) -> tuple[tuple[Unit, bool], ...]:
    """The units of `text` that are instructions, each with whether it is a bare chat role marker that opens a
    turn ("<|im_start|>system", "- role: system", "### Instruction:"): the message follows on the next line.
    Kept for the texts read last: a passage is checked for untrusted blocks, then again when it is cited."""
    main = guess_language(text, distinct=True)
    found = units(text)
    labelled = _labelled_groups(text, found)
    out = []
    for u in found:
        sentence = text[u.start : u.end]
        if u.group in labelled or is_instruction(sentence) or _switched(sentence, main) or _disguised(sentence):
            out.append((u, opens_turn(sentence) and len(sentence.split()) <= 3))
    return tuple(out)


def _labelled_groups(text: str, found: list[Unit]) -> set[int]:
    """The groups whose lines open with a role label and go on past its first sentence ("Assistant: Sure! The
    troops ..."): the label and its sentence are split into units, the line is read whole here."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for u in found:
        first.setdefault(u.group, u.start)
        last[u.group] = u.end
    return {g for g, start in first.items() if ROLE_LABEL.match(text[start : last[g]])}


@functools.lru_cache(maxsize=1024)
def instruction_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The (start, end) spans of the sentences of `text` that are instructions: `is_instruction`, or a sentence
    in another language than the rest of `text` that speaks of answering (qa/injection/lexicon.py)."""
    return tuple((u.start, u.end) for u, _ in _flagged(text))


@functools.lru_cache(maxsize=1024)
def untrusted_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The spans of the blocks of `text` that hold an instruction, and of its sentences in another language than
    its own (English) one: every sentence in them is untrusted (never evidence), whatever it says. A block is a
    run of lines read as one (`qa.text.sentences.units` groups); a bare role marker's block takes in the block
    after it, in the same paragraph (the message it opens)."""
    flagged = _flagged(text)
    groups = {u.group for u, _ in flagged}
    found = units(text)
    for u, turn in flagged:
        groups |= {v.group for v in found if turn and v.group == u.group + 1 and v.para == u.para}
    spans: dict[int, tuple[int, int]] = {}
    for u in found:
        if u.group in groups:
            start, end = spans.get(u.group, (u.start, u.end))
            spans[u.group] = (min(start, u.start), max(end, u.end))
    foreign = [(u.start, u.end) for u in _foreign(text, found)]
    return _merged([*spans.values(), *foreign])


def _foreign(text: str, found: Sequence[Unit]) -> list[Unit]:
    """The sentences of an English text written in another language (foreign.py): untrusted, not instructions."""
    prose = [u for u in found if u.kind in ("prose", "item") and in_another_language(text[u.start : u.end])]
    return prose if prose and guess_language(text, distinct=True) == "en" else []


def _merged(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def contains_instructions(text: str) -> bool:
    """Whether `text` holds a sentence that is an instruction to the answering model."""
    return bool(instruction_spans(text))


def untrusted(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` overlaps a block of `text` that holds an instruction."""
    return any(s < end and start < e for s, e in untrusted_spans(text))


def trusted_text(text: str) -> str:
    """`text` with its untrusted blocks blanked out (spaces, so offsets hold): what may be read as evidence."""
    spans = untrusted_spans(text)
    if not spans:
        return text
    out, cursor = [], 0
    for start, end in spans:
        out += [text[cursor:start], " " * (end - start)]
        cursor = end
    return "".join([*out, text[cursor:]])
