"""Schwartz–Hearst abbreviation definitions (serendip.kg.abbreviations) on abstract-shaped sentences."""
from __future__ import annotations

import pytest

from serendip.kg.abbreviations import (
    abbreviation_map,
    best_long_form,
    find_abbreviations,
    propagate_record_short_forms,
    propagate_short_forms,
)


def _pairs(text):
    found = find_abbreviations(text)
    for a in found:  # the offsets point at what the fields say
        assert text[a.long_start:a.long_end] == a.long
        assert text[a.short_start:a.short_end].startswith(a.short)
    return [(a.short, a.long) for a in found]


def test_long_form_then_short_form_in_parentheses():
    text = ("Levodopa-induced dyskinesia in Parkinson's disease (PD). The effect of amantadine on "
            "levodopa-induced dyskinesia (LID) was assessed in 18 PD patients, and 1-methyl-4-phenyl-"
            "1,2,3,6-tetrahydropyridine (MPTP) treated monkeys.")
    assert _pairs(text) == [("PD", "Parkinson's disease"), ("LID", "levodopa-induced dyskinesia"),
                            ("MPTP", "1-methyl-4-phenyl-1,2,3,6-tetrahydropyridine")]
    a = find_abbreviations(text)[0]
    assert (a.short_start, a.short_end) == (text.index("(PD)") + 1, text.index("(PD)") + 3)


def test_the_long_form_is_the_shortest_that_matches_and_starts_a_word():
    # "nitric oxide synthase": 'N' must start a word, so not the 'n' inside "inhibited"
    assert _pairs("Treatment inhibited nitric oxide synthase (NOS) activity.") == [
        ("NOS", "nitric oxide synthase")]
    assert best_long_form("5-FU", "daily 5-fluorouracil") == len("daily ")
    assert best_long_form("XYZ", "blood pressure") is None


def test_no_definition_is_found_where_there_is_none():
    text = ("Rats received cocaine (20 mg/kg, i.p.) daily (see Table 2) for 5 days (n = 12). "
            "Blood pressure rose (P < 0.05) in the treated group (A).")
    assert _pairs(text) == []
    # a short form whose letters the preceding words cannot supply
    assert _pairs("The patients were given the drug (TX) twice.") == []
    # a short form that is a word of its long form candidate is no definition
    assert _pairs("caused by heart failure (failure) in two") == []


def test_nested_parentheses_and_a_cut_at_a_semicolon():
    text = ("Serum tumour necrosis factor (TNF (ref. 3)) and interleukin-6 (IL-6; n = 40) rose; "
            "N(G)-nitro-L-arginine methyl ester (L-NAME) did not change them.")
    pairs = _pairs(text)
    assert ("TNF", "tumour necrosis factor") in pairs and ("IL-6", "interleukin-6") in pairs
    tnf = find_abbreviations(text)[0]
    assert text[tnf.short_start:tnf.short_end] == "TNF"
    # the "(G)" inside a word is no candidate; the L of L-NAME is missing before "nitro", so no pair
    assert [p for p in pairs if p[0] == "L-NAME"] == []


def test_full_width_parentheses_define_short_forms_spaced_or_not():
    # CJK input methods write U+FF08/FF09, often with no space before: each is read as "(" / ")"
    text = ("Serum tumour necrosis factor（TNF）rose，and interleukin-6 （IL-6；n = 40） did too. "
            "Dopamine（DA （ref. 3））fell.")
    assert _pairs(text) == [("TNF", "tumour necrosis factor"), ("IL-6", "interleukin-6"), ("DA", "Dopamine")]
    # a boundary before the clause: "，" ends the long form candidate like ", "
    assert _pairs("treated，Parkinson's disease（PD）") == [("PD", "Parkinson's disease")]
    # an ASCII "(" still needs its space; a Japanese long form has no letters to match
    assert _pairs("tumour necrosis factor(TNF) rose. 腫瘍壊死因子（TNF）") == []


def test_short_form_then_long_form_in_parentheses():
    text = "We studied 40 patients with PD (idiopathic Parkinson's disease) and 12 controls."
    assert _pairs(text) == [("PD", "Parkinson's disease")]
    a = find_abbreviations(text)[0]
    assert text[a.short_start:a.short_end] == "PD"


def test_long_form_word_limit_of_the_paper():
    # |SF| = 2: at most min(2 + 5, 2 * 2) = 4 words; "chronic ... disease" here needs 5
    text = "in chronic severe obstructive pulmonary disease (CD) and"
    assert _pairs(text) == []
    assert _pairs("in chronic disease (CD) and") == [("CD", "chronic disease")]


def test_the_first_definition_of_a_short_form_wins():
    text = "peritoneal dialysis (PD) and later Parkinson's disease (PD) in one patient"
    assert abbreviation_map(text) == {"PD": "peritoneal dialysis"}
    assert abbreviation_map("no parentheses here") == {}
    assert abbreviation_map("an unclosed (parenthesis") == {}


def test_a_short_form_takes_the_type_of_its_tagged_long_form():
    text = ("Inhaled nitric oxide (NO) lowered pressure. NO donors, NOS inhibitors and NO-synthase were "
            "compared; NO was safe. Parkinson disease (PD) patients; PD worsened.")
    no_lf = (text.index("nitric"), text.index("nitric") + len("nitric oxide"), "Chemical")
    first_no = text.index("(NO)") + 1
    got = propagate_short_forms(text, [no_lf])
    added = [(text[s:e], t) for s, e, t in got if (s, e, t) != no_lf]
    # every whole-word NO (the definition's too), none inside NOS or NO-synthase; PD's long form is untagged
    assert added == [("NO", "Chemical")] * 3
    assert got == sorted(got) and (first_no, first_no + 2, "Chemical") in got
    # a short form already tagged is kept as tagged (never retyped or doubled)
    tagged_sf = (first_no, first_no + 2, "Disease")
    got = propagate_short_forms(text, [no_lf, tagged_sf])
    assert tagged_sf in got and (first_no, first_no + 2, "Chemical") not in got and len(got) == 4
    # nothing defined or nothing tagged: the spans as given
    assert propagate_short_forms("Aspirin relieved pain.", [(0, 7, "Chemical")]) == [(0, 7, "Chemical")]
    assert propagate_short_forms(text, []) == []


def test_a_short_form_defined_in_one_part_of_a_record_applies_to_every_part():
    title = "Inhaled nitric oxide (NO) in neonates"
    abstract = "NO lowered pressure; NOS was not measured. Parkinson disease (PD) patients had no NO."
    no_lf = (8, 20, "Chemical")  # "nitric oxide" of the title
    pd_lf = (abstract.index("Parkinson"), abstract.index("Parkinson") + 17, "Disease")
    got = propagate_record_short_forms([title, abstract], [[no_lf], [pd_lf]])
    assert got == [[no_lf, (22, 24, "Chemical")],
                   [(0, 2, "Chemical"), pd_lf, (62, 64, "Disease"), (82, 84, "Chemical")]]
    assert [abstract[s:e] for s, e, _ in got[1]] == ["NO", "Parkinson disease", "PD", "NO"]
    # each part alone: the abstract's NO is left untagged (its definition is in the title)
    assert propagate_short_forms(abstract, [pd_lf]) == [pd_lf, (62, 64, "Disease")]
    # a definition in the abstract reaches the title; a long form is never read across the parts
    assert propagate_record_short_forms(["PD and gait", "In Parkinson disease (PD) gait slows."],
                                        [[], [(3, 20, "Disease")]]) == [[(0, 2, "Disease")],
                                                                        [(3, 20, "Disease"), (22, 24, "Disease")]]
    assert propagate_record_short_forms(["Parkinson disease", "(PD) and PD"], [[(0, 17, "Disease")], []]) == \
        [[(0, 17, "Disease")], []]
    assert propagate_record_short_forms([], []) == []
    with pytest.raises(ValueError, match="got 2 texts and 1 span lists"):
        propagate_record_short_forms(["a", "b"], [[]])


def test_an_entity_is_named_by_its_long_form_counted_case_insensitively():
    from serendip.kg.build import entity_name

    # the case tester's counts: ASA 4 (short form), Aspirin 2 + aspirin 2 -> "Aspirin" (ties: the text)
    assert entity_name({"ASA": 4, "Aspirin": 2, "aspirin": 2}) == "Aspirin"
    assert entity_name({"PD": 8, "Parkinson disease": 2, "parkinson disease": 3}) == "parkinson disease"
    assert entity_name({"NO": 5, "No": 1}) == "NO"           # only short forms: the most frequent one
    assert entity_name({"5-FU": 10, "5-fluorouracil": 2}) == "5-FU"   # both names: the count decides
    # compatibility forms count as, and are shown as, what the tagger matched them as (NFKC)
    assert entity_name({"ﬁbrosis": 3}) == "fibrosis"
    assert entity_name({"ＡＬＬ": 2, "ALL": 1}) == "ALL"
    assert entity_name({"ｃｉｓｐｌａｔｉｎ": 2, "Cisplatin": 1, "cisplatin": 1}) == "cisplatin"
