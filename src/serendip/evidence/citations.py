"""Citations checked in code: parse a model's reply into cited sentences and check each one.

A generative backend writes its answer as plain text with citation markers ``[n]`` naming the
supplied passages (``[1]``, ``[1, 3]``, ``[2-4]``, ``[1][2]``; ``[P1]`` and ``[passage 1]`` are read
too). :func:`parse_reply` splits the reply into sentences (pySBD, :func:`serendip.evidence.passages.
split_sentences`), takes each sentence's markers as its citations and strips them from its text; a
piece that is only markers (a citation written after the full stop) belongs to the sentence before it.

:func:`check_sentences` then decides, for every sentence, whether it may be shown as grounded:

1. it cites at least one passage ("cites nothing" otherwise);
2. every number it cites was supplied ("cites [7], which was not supplied": the whole sentence fails,
   a fabricated citation is never quietly dropped);
3. what it cites supports it: a sentence that is, white space aside, the text of a passage it cites
   is a verbatim quote (support 1.0); any other sentence is scored by a ``support`` function (the
   claim-verification label model's P(SUPPORT) of the sentence given the cited passages,
   :meth:`serendip.evidence.verify.Verifier.support_probability`) and passes at ``min_support``.

Sentences that fail are returned with ``grounded=False`` and the reason; the caller shows them apart,
never as grounded.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from serendip.evidence.generators import NO_EVIDENCE, Draft, SuppliedPassage

#: a citation marker: [1], [1, 3], [2-4], [P1], [passage 1; 2]
MARKER = re.compile(r"\[\s*(?:passages?\s*|p\s*)?(\d+(?:\s*(?:[,;]|[-\u2013])\s*(?:p\s*)?\d+)*)\s*\]", re.I)
#: a range wider than this is read as written ([1-1000] is not expanded to 1,000 citations)
MAX_RANGE = 50
_WS = re.compile(r"\s+")


@dataclass
class AnswerSentence:
    """A checked answer sentence.

    Attributes
    ----------
    text : str
        The sentence without its citation markers.
    cites : list of int
        The passage numbers it cites, as written (sorted, unique).
    grounded : bool
        True only when every check passed.
    support : float or None
        1.0 for a verbatim quote; else the support model's probability; None when not scored (the
        sentence failed an earlier check).
    method : str
        ``"quote"``, ``"model"`` or ``""`` (not scored).
    problem : str or None
        Why it is not grounded.
    stance : str or None
        For a grounded sentence, when a verification model is at hand: how what it cites bears on the
        question, ``"supports"``, ``"contradicts"`` or ``"neutral"``.
    """

    text: str
    cites: list[int] = field(default_factory=list)
    grounded: bool = False
    support: float | None = None
    method: str = ""
    problem: str | None = None
    stance: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "cites": self.cites, "grounded": self.grounded,
                "support": None if self.support is None else round(self.support, 4), "method": self.method,
                "problem": self.problem, "stance": self.stance}


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group):
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= MAX_RANGE:
            out.extend(range(bounds[0], bounds[1] + 1))
        else:
            out.extend(bounds)
    return out


def parse_reply(reply: str) -> list[Draft]:
    """A reply's sentences with the passage numbers each cites.

    Parameters
    ----------
    reply : str
        The model's text.

    Returns
    -------
    list of Draft
        In order; empty when the reply is blank or says :data:`~serendip.evidence.generators.NO_EVIDENCE`
        (alone, any case, punctuation aside).
    """
    from serendip.evidence.passages import split_sentences

    text = (reply or "").strip()
    if not text or re.sub(r"[^a-z ]", "", text.lower()).strip() == NO_EVIDENCE.lower():
        return []
    drafts: list[Draft] = []
    for start, end in split_sentences(text, where="the model's reply"):
        piece = text[start:end]
        cites = [n for m in MARKER.finditer(piece) for n in _numbers(m.group(1))]
        bare = _WS.sub(" ", MARKER.sub("", piece)).strip()
        bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
        if not re.search(r"\w", bare):  # only markers: they belong to the sentence before
            if drafts:
                drafts[-1].cites.extend(cites)
            elif cites:
                drafts.append(Draft("", cites))
            continue
        drafts.append(Draft(bare, cites))
    return drafts


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip().rstrip(".").lower()


def check_sentences(drafts: Sequence[Draft], passages: Sequence[SuppliedPassage],
                    support: Callable[[str, list[str]], float] | None, min_support: float = 0.5
                    ) -> list[AnswerSentence]:
    """Check every draft sentence against the supplied passages (see the module docstring).

    Parameters
    ----------
    drafts : sequence of Draft
    passages : sequence of SuppliedPassage
        What the generator was given.
    support : callable or None
        ``support(sentence, cited_texts) -> probability``; None: only verbatim quotes can pass (any
        other sentence fails with "no verification model to check it").
    min_support : float, default 0.5

    Returns
    -------
    list of AnswerSentence, one per draft, in order.
    """
    by_number = {p.number: p for p in passages}
    out: list[AnswerSentence] = []
    for d in drafts:
        s = AnswerSentence(d.text, sorted(set(d.cites)))
        missing = [n for n in s.cites if n not in by_number]
        if not s.text:
            s.problem = "a citation with no sentence"
        elif not s.cites:
            s.problem = "cites nothing"
        elif missing:
            s.problem = (f"cites {', '.join(f'[{n}]' for n in missing)}, which "
                         f"{'was' if len(missing) == 1 else 'were'} not supplied")
        elif any(_norm(by_number[n].text) == _norm(s.text) for n in s.cites):
            s.grounded, s.support, s.method = True, 1.0, "quote"
        elif support is None:
            s.problem = "no verification model to check it (run `serendip verify --train`)"
        else:
            s.support, s.method = float(support(s.text, [by_number[n].text for n in s.cites])), "model"
            s.grounded = s.support >= min_support
            if not s.grounded:
                s.problem = f"not supported by what it cites (P(support) {s.support:.2f} < {min_support:.2f})"
        out.append(s)
    return out
