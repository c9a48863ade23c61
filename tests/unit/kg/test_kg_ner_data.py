"""NER data of serendip.kg: words with offsets, IOB2 tags, sliding windows, the ``pubtator-ner`` reader,
and per-window tags mapped back to document spans (exactly, across window edges)."""
from __future__ import annotations

import itertools

import pytest

from serendip.errors import ConfigError, DataError, ParseError
from serendip.kg.ner_data import (
    boundaries_inside_words,
    decode_iob2,
    document_examples,
    iob2_tags,
    merge_window_tags,
    read_ner_examples,
    tokenize,
    window_bounds,
)
from serendip.kg.ner_eval import gold_spans, spans_from_mapping, strict_scores
from serendip.kg.pubtator import Document, Mention, parse_pubtator


def _doc(pmid: str, title: str, abstract: str, marks: list[tuple[str, str, int]]) -> Document:
    """A document with a mention for each (surface text, type, occurrence number) in ``marks``."""
    doc = Document(pmid, title, abstract)
    for text, typ, nth in marks:
        start = -1
        for _ in range(nth + 1):
            start = doc.text.index(text, start + 1)
        doc.mentions.append(Mention(start, start + len(text), text, typ, ("D0",)))
    return doc


LONG = _doc(
    "42", "Cocaine-induced seizures and lidocaine toxicity in rats.",
    "Rats given cocaine hydrochloride developed tonic clonic seizures within minutes, while 5-HT6 "
    "antagonists and Na+/K+ ATPase inhibitors did not prevent acute renal failure or hepatic failure "
    "after lidocaine.",
    [("Cocaine", "Chemical", 0), ("seizures", "Disease", 0), ("lidocaine", "Chemical", 0),
     ("toxicity", "Disease", 0), ("cocaine hydrochloride", "Chemical", 0),
     ("tonic clonic seizures", "Disease", 0), ("5-HT", "Chemical", 0), ("Na+", "Chemical", 0),
     ("acute renal failure", "Disease", 0), ("hepatic failure", "Disease", 0), ("lidocaine", "Chemical", 1)])


def test_tokenize_keeps_offsets_and_splits_hyphens_slashes_and_digit_runs():
    words = tokenize("Cocaine-induced 5-HT6 Na+/K+ x_y")
    assert [w.text for w in words] == ["Cocaine", "-", "induced", "5", "-", "HT", "6", "Na", "+", "/",
                                       "K", "+", "x", "_", "y"]
    assert all("Cocaine-induced 5-HT6 Na+/K+ x_y"[w.start:w.end] == w.text for w in words)
    assert boundaries_inside_words([LONG]) == 0
    odd = Document("1", "acidA rec", "", [Mention(0, 4, "acid", "Chemical")])
    assert boundaries_inside_words([odd]) == 1  # "acidA": the end falls inside the word


def test_iob2_tags_and_their_problems():
    doc = _doc("1", "acute renal failure after lidocaine", "", [("acute renal failure", "Disease", 0),
                                                                 ("lidocaine", "Chemical", 0)])
    tags, problems = iob2_tags(tokenize(doc.text), doc.mentions)
    assert tags == ["B-Disease", "I-Disease", "I-Disease", "O", "B-Chemical"] and problems == []
    nested = [Mention(0, 19, "acute renal failure", "Disease"), Mention(6, 11, "renal", "Disease"),
              Mention(26, 30, "lido", "Chemical")]
    tags, problems = iob2_tags(tokenize(doc.text), nested)
    assert tags == ["B-Disease", "I-Disease", "I-Disease", "O", "B-Chemical"]
    assert [why.split(";")[0] for _m, why in problems] == ["overlaps an earlier mention",
                                                          "has a boundary inside a word"]


def test_window_bounds_cover_and_overlap():
    assert window_bounds(0, 8, 3) == [] and window_bounds(5, 8, 3) == [(0, 5)]
    assert window_bounds(8, 8, 3) == [(0, 8)]
    bounds = window_bounds(20, 8, 3)
    assert bounds == [(0, 8), (5, 13), (10, 18), (12, 20)]
    assert all(b - a == 8 for a, b in bounds)
    assert all(prev[1] - nxt[0] >= 3 for prev, nxt in itertools.pairwise(bounds))
    for window, overlap in ((0, 0), (8, 8), (8, -1)):
        with pytest.raises(ConfigError, match="0 <= overlap < window"):
            window_bounds(10, window, overlap)


def test_windows_of_a_long_document_and_their_ids():
    words = tokenize(LONG.text)
    examples, problems = document_examples(LONG, window=10, overlap=4, source="long.txt")
    assert problems == [] and len(words) == 47
    assert [ex.id for ex in examples] == [f"42:w{k}" for k in range(len(examples))]
    assert [(ex.meta["word_start"], len(ex.meta["tokens"])) for ex in examples] == [
        (0, 10), (6, 10), (12, 10), (18, 10), (24, 10), (30, 10), (36, 10), (37, 10)]
    from serendip.models.tasks import make_task

    task = make_task("token")
    for ex in examples:  # every window is a valid token-task example, its text the words' stretch
        assert task.parse_label(ex.label, ex) == ex.label
        assert ex.text == LONG.text[ex.meta["offsets"][0][0]:ex.meta["offsets"][-1][1]]
    # "tonic clonic seizures" (words 15-17) crosses the end of window 1 (words 6-15); "5-HT" (words
    # 22-24) the start of window 4 (words 24-33)
    assert examples[1].label[-1] == "B-Disease" and examples[2].label[3:6] == ["B-Disease", "I-Disease", "I-Disease"]
    assert examples[4].label[0] == "I-Chemical"


@pytest.mark.parametrize("window, overlap", [(10, 4), (7, 0), (5, 2), (51, 10), (200, 32)])
def test_gold_round_trip_windows_to_document_spans(window, overlap):
    examples, _ = document_examples(LONG, window=window, overlap=overlap)
    merged = merge_window_tags(examples, [ex.label for ex in examples])
    assert merged["42"] == sorted((m.start, m.end, m.type) for m in LONG.mentions)
    assert strict_scores(gold_spans([LONG]), spans_from_mapping(merged))["micro"]["f1"] == 1.0


def test_each_word_takes_its_tag_from_the_window_where_it_is_most_central():
    doc = Document("7", " ".join("abcdefghijkl"), "")  # word i at characters 2i .. 2i+1
    examples, _ = document_examples(doc, window=8, overlap=4, labelled=False)
    assert [ex.meta["word_start"] for ex in examples] == [0, 4]
    # word i lies at depth min(i, 7 - i) in window 0 and min(i - 4, 11 - i) in window 1:
    # words 4, 5 are more central in window 0 (3, 2 vs 0, 1), words 6, 7 in window 1 (2, 3 vs 1, 0)
    def span(a, b, typ):
        return (2 * a, 2 * b + 1, typ)

    tags0 = ["O"] * 4 + ["B-Disease", "I-Disease", "I-Disease", "I-Disease"]
    assert merge_window_tags(examples, [tags0, ["O"] * 8]) == {"7": [span(4, 5, "Disease")]}
    tags1 = ["O", "O", "B-Chemical", "I-Chemical"] + ["O"] * 4
    assert merge_window_tags(examples, [["O"] * 8, tags1]) == {"7": [span(6, 7, "Chemical")]}
    # both: window 0 gives words 4, 5 (Disease), window 1 words 6, 7 (Chemical): two entities
    assert merge_window_tags(examples, [tags0, tags1])["7"] == [span(4, 5, "Disease"), span(6, 7, "Chemical")]
    with pytest.raises(DataError, match="2 tags for 8 words"):
        merge_window_tags(examples, [tags0, ["O", "O"]])
    with pytest.raises(DataError, match=r"words 8\.\. are in no window \(4 of 12\)"):
        merge_window_tags(examples[:1], [tags0])


def test_decode_iob2_reads_ill_formed_tags_as_conlleval():
    tags = ["O", "I-Disease", "I-Disease", "B-Disease", "I-Chemical", "O", "B-Chemical"]
    assert decode_iob2(tags) == [(1, 3, "Disease"), (3, 4, "Disease"), (4, 5, "Chemical"), (6, 7, "Chemical")]
    with pytest.raises(DataError, match="not IOB2"):
        decode_iob2(["X-Chemical"])


def test_reader_registered_with_options_and_issues(tmp_path):
    from serendip.models.config import DataConfig
    from serendip.models.data import read_examples

    text = ("1|t|Lidocaine-induced cardiac asystole.\n1|a|\n1\t0\t9\tLidocaine\tChemical\tD008012\n"
            "1\t18\t34\tcardiac asystole\tDisease\tD006323\n\n"
            "2|t|Bad offsets.\n2|a|\n2\t0\t3\tBad\tChemical\t-1\n2\t4\t8\tnope\tDisease\t-1\n\n"
            "3|t|Lithium and renal or hepatic failure.\n3|a|Again renal failure.\n"
            "3\t0\t7\tLithium\tChemical\tD008094\n"
            "3\t12\t36\trenal or hepatic failure\tDisease\tD051437|D048550\trenal failure|hepatic failure\n"
            "3\t44\t57\trenal failure\tDisease\tD051437\n\n")
    path = tmp_path / "cdr.PubTator.txt"
    path.write_text(text)
    issues: list = []
    examples = read_examples(path, "pubtator-ner", issues=issues, window=4, overlap=1)
    assert [ex.id for ex in examples] == ["1:w0", "1:w1", "3:w0", "3:w1", "3:w2", "3:w3"]
    assert examples[0].meta["tokens"] == ["Lidocaine", "-", "induced", "cardiac"]
    assert examples[0].label == ["B-Chemical", "O", "O", "B-Disease"]
    assert len(issues) == 1 and issues[0].record == "2" and issues[0].line == 9
    assert DataConfig.model_validate({"train": str(path), "format": "pubtator-ner",
                                      "options": {"window": 64, "overlap": 16}}).format == "pubtator-ner"
    with pytest.raises(ParseError, match="'nope' at 4-8 but the text there is 'offs'"):
        read_ner_examples(path)
    dup = tmp_path / "dup.txt"
    dup.write_text(text.split("\n\n")[0] + "\n\n" + text.split("\n\n")[0] + "\n\n")
    issues = []
    assert len(read_ner_examples(dup, issues=issues)) == 1 and "given twice" in issues[0].reason


def test_reader_parses_real_layout_without_problems():
    text = ("354896|t|Lidocaine-induced cardiac asystole.\n354896|a|Intravenous administration of a single "
            "50-mg bolus of lidocaine in a 67-year-old man resulted in profound depression.\n"
            "354896\t0\t9\tLidocaine\tChemical\tD008012\n354896\t18\t34\tcardiac asystole\tDisease\tD006323\n"
            "354896\t90\t99\tlidocaine\tChemical\tD008012\n354896\t142\t152\tdepression\tDisease\tD003866\n"
            "354896\tCID\tD008012\tD006323\n\n")
    (doc,) = parse_pubtator(text.splitlines(), "x")
    examples, problems = document_examples(doc)
    assert problems == [] and len(examples) == 1 and examples[0].meta["n_windows"] == 1
    assert sum(t.startswith("B-") for t in examples[0].label) == 4
