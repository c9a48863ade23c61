"""kg taggers: every entry of TAGGERS is exercised for real (an entry without a case fails); the model
tagger on a tiny fine-tuned token run, whose windows are narrowed so no word is lost to truncation;
names resolved by ``make_tagger``; the normaliser cached as plain JSON in the workspace."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from kg_helpers import RECORDS, pubtator_text

from serendip.errors import ConfigError, WorkspaceError
from serendip.kg.pubtator import Document, parse_pubtator
from serendip.kg.taggers import (
    TAGGERS,
    DictionaryTextTagger,
    ModelTagger,
    fitted_window,
    load_normaliser,
    make_tagger,
    tag_documents,
    training_documents,
    union_spans,
)
from serendip.models.run_json import RunNotFound

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXTS = [r[k] for r in RECORDS for k in ("title", "abstract")]


def _docs():
    return list(parse_pubtator(pubtator_text().splitlines()))


def _check_spans(tagger, texts) -> list:
    got = tagger.tag(texts)
    assert len(got) == len(texts)
    for text, spans in zip(texts, got):
        assert spans == sorted(spans)
        for (s, e, t), nxt in zip(spans, [*spans[1:], None]):
            assert 0 <= s < e <= len(text) and t in ("Chemical", "Disease") and text[s:e].strip() == text[s:e]
            assert nxt is None or e <= nxt[0]
    return got


def _tiny_backbone(folder: Path) -> Path:
    """A random 2-layer BERT with a lower-cased character WordPiece vocabulary (letters, digits, marks)."""
    import string

    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = {t: i for i, t in enumerate(specials + chars + ["##" + c for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1000))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(str(folder))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def token_run(tmp_path_factory) -> Path:
    """A token run fine-tuned for 2 epochs on the tiny PubTator file (windows of 4 words)."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    root = tmp_path_factory.mktemp("kg-token")
    train = root / "train.PubTator.txt"
    train.write_text(pubtator_text(), encoding="utf-8")
    cfg = FineTuneConfig.model_validate({
        "task": "token", "backbone": str(_tiny_backbone(root / "backbone")),
        "data": {"train": str(train), "dev": str(train), "format": "pubtator-ner",
                 "options": {"window": 4, "overlap": 1}, "split": {"test": 0.0}},
        "training": {"epochs": 2, "batch_size": 8, "lr": 1e-2, "max_length": 32, "seed": 0},
        "output": {"run_dir": str(root / "runs"), "name": "tiny-ner", "plots": False}})
    return finetune(cfg).run_dir


def _case_dictionary(factory, token_run) -> None:
    tagger = factory(_docs())
    assert tagger.name == "dictionary"
    got = _check_spans(tagger, TEXTS)
    assert got[0] == [(0, 7, "Chemical"), (12, 20, "Disease")]  # "Aspirin and headache in adults"
    assert factory(_docs(), run_dir=None).tag([""]) == [[]]
    text = "Patients had headache (HA) after surgery; HA recurred."
    (spans,) = tagger.tag([text])   # HA is in no lexicon: it takes its long form's type
    assert [(text[s:e], t) for s, e, t in spans] == [("headache", "Disease"), ("HA", "Disease"), ("HA", "Disease")]
    plain = factory(_docs())
    plain.short_forms = False
    assert [text[s:e] for s, e, _ in plain.tag([text])[0]] == ["headache"]
    title, abstract = "Patients had headache (HA) after surgery", "HA recurred; no HA later."
    assert tagger.tag_records([(title, abstract), ("", "")]) == [  # the title's definition reaches the abstract
        [[(13, 21, "Disease"), (23, 25, "Disease")], [(0, 2, "Disease"), (16, 18, "Disease")]], [[], []]]
    assert tagger.tag([title, abstract])[1] == []  # tagged apart, the abstract's HA is not
    assert plain.tag_records([(title, abstract)]) == [[[(13, 21, "Disease")], []]]


def _case_model(factory, token_run) -> None:
    tagger = factory(_docs(), run_dir=token_run)
    assert tagger.name == f"model:{Path(token_run).resolve()}"
    long = " ".join(["hydroxychloroquine and aspirin caused nausea."] * 40)
    _check_spans(tagger, [*TEXTS, "", long, "阿司匹林 Ａｓｐｉｒｉｎ e\u0301 😀"])
    assert tagger.truncated == 0  # windows narrowed until their pieces fit max_length (32)
    docs = [*_docs(), Document(pmid="long", title=long)]
    _, cut = tag_documents(tagger.bundle, docs, fit=False)  # the windows as given: the last words lost
    assert cut > 0
    with pytest.raises(ConfigError, match="needs a fine-tuned token run folder"):
        factory(_docs())


def _case_union(first: str):
    def case(factory, token_run) -> None:
        tagger = factory(_docs(), run_dir=token_run)
        assert tagger.name == f"{first}:{Path(token_run).resolve()}"
        got = _check_spans(tagger, TEXTS)
        model, lexicon = ModelTagger(token_run, short_forms=False), DictionaryTextTagger(_docs(), short_forms=False)
        lead, other = (model, lexicon) if first == "model+dictionary" else (lexicon, model)
        tagger.short_forms = False  # with short forms off, exactly the union of the two taggers' spans
        assert tagger.tag(TEXTS) == [union_spans(a, b) for a, b in zip(lead.tag(TEXTS), other.tag(TEXTS))]
        for spans, led in zip(got, lead.tag(TEXTS)):
            assert set(led) <= set(spans)  # the leading tagger's spans are all kept
        with pytest.raises(ConfigError, match="needs a fine-tuned token run folder"):
            factory(_docs())
    return case


TAGGER_CASES = {"dictionary": _case_dictionary, "model": _case_model,
                "model+dictionary": _case_union("model+dictionary"),
                "dictionary+model": _case_union("dictionary+model")}


def test_union_spans_keeps_the_first_and_adds_what_overlaps_none_of_them():
    first = [(10, 20, "Disease"), (0, 5, "Chemical")]
    second = [(0, 3, "Disease"), (5, 10, "Chemical"), (19, 25, "Chemical"), (20, 22, "Disease"), (30, 31, "Disease")]
    # (0, 3) and (19, 25) share characters with a kept span; (5, 10) and (20, 22) only touch one
    assert union_spans(first, second) == [(0, 5, "Chemical"), (5, 10, "Chemical"), (10, 20, "Disease"),
                                          (20, 22, "Disease"), (30, 31, "Disease")]
    assert union_spans([], second[:2]) == second[:2] and union_spans(first, []) == sorted(first)


@pytest.mark.parametrize("name", TAGGERS.keys())
def test_every_registered_tagger_has_a_case(name, token_run):
    if name not in TAGGER_CASES:
        pytest.fail(f"no test case for kg tagger {name}")
    TAGGER_CASES[name](TAGGERS.get(name), token_run)


def test_make_tagger_reads_names_and_run_folders(token_run, tmp_path):
    assert make_tagger("dictionary", _docs()).name == "dictionary"
    assert make_tagger(str(token_run), _docs()).name.startswith("model:")
    assert make_tagger(f"model:{token_run}", _docs()).name.startswith("model:")
    assert make_tagger(f"model+dictionary:{token_run}", _docs()).name.startswith("model+dictionary:/")
    assert make_tagger(f"dictionary+model:{token_run}", _docs()).name.startswith("dictionary+model:/")
    with pytest.raises(ConfigError, match="unknown kg tagger 'spacy': give dictionary, a fine-tuned token run"):
        make_tagger("spacy", _docs())
    with pytest.raises(ConfigError, match="unknown kg tagger 'dictionary:x'"):
        make_tagger("dictionary:x", _docs())
    for spec in ("model:", "model+dictionary: ", "dictionary+model:"):  # never the working folder by default
        with pytest.raises(ConfigError, match="no run folder after the colon"):
            make_tagger(spec, _docs())
    with pytest.raises(ConfigError, match=r"needs a fine-tuned token run folder: --tagger model\+dictionary:RUN_DIR"):
        make_tagger("model+dictionary", _docs())
    (tmp_path / "file.jsonl").write_text("{}\n")
    with pytest.raises(RunNotFound, match="file.jsonl is a file, not a run folder"):
        make_tagger(f"model+dictionary:{tmp_path / 'file.jsonl'}", _docs())
    with pytest.raises(ConfigError, match="needs a fine-tuned token run folder"):
        make_tagger("model", _docs())


def test_fitted_window_narrows_until_the_pieces_fit():
    assert fitted_window([1] * 300, 126, 128, 32) == (64, 16)
    assert fitted_window([1] * 100, 126, 128, 32) == (128, 32)  # one window of 100 pieces
    assert fitted_window([2, 40, 2], 30, 128, 32) == (1, 0)  # a word over the budget: one word per window
    assert fitted_window([], 10) == (128, 32)


def test_normaliser_is_fitted_once_and_cached_as_json(tmp_path):
    path = tmp_path / "train.PubTator.txt"
    path.write_text(pubtator_text(), encoding="utf-8")
    docs = _docs()
    norm, name = load_normaliser(tmp_path / "cache", docs, [path])
    saved = json.loads((tmp_path / "cache" / name).read_text(encoding="utf-8"))
    assert saved["format"] == "serendip-mesh-normaliser" and "Chemical" in saved["lexicon"]
    again, same = load_normaliser(tmp_path / "cache", [], [path])  # read back, not fitted on nothing
    assert same == name and again.to_dict() == norm.to_dict()
    path.write_text(pubtator_text() + "104|t|Another title.\n104|a|\n\n", encoding="utf-8")  # another key
    assert load_normaliser(tmp_path / "cache", docs, [path])[1] != name


def test_unusable_training_and_cache_paths_are_named(tmp_path):
    missing = tmp_path / "nowhere" / "train.PubTator.txt"
    with pytest.raises(ConfigError, match=rf"^training PubTator file {missing} does not exist"):
        training_documents([missing])
    with pytest.raises(ConfigError, match=rf"^training PubTator file {tmp_path} is a folder"):
        training_documents([tmp_path])
    path = tmp_path / "train.PubTator.txt"
    path.write_text(pubtator_text(), encoding="utf-8")
    blocker = tmp_path / "models"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=rf"^cannot write the fitted normaliser to {blocker / 'kg'}/normaliser-"
                                             r"[0-9a-f]{16}\.json: .*\(is the workspace folder writable\?\)$"):
        load_normaliser(blocker / "kg", _docs(), [path])


def test_build_with_the_model_tagger_stores_every_span(token_run, tmp_path):
    from kg_helpers import write_records, write_training

    from serendip.kg.build import build
    from serendip.kg.taggers import ModelTagger
    from serendip.workbench import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    rep = build(ws, str(token_run), training=[write_training(tmp_path)])
    spans = ModelTagger(token_run).tag(TEXTS)
    assert rep.tagger == f"model:{Path(token_run).resolve()}" and rep.records_read == 3
    assert rep.counts["mentions"] == sum(len(s) for s in spans) > 0
    with pytest.raises(ConfigError, match="built with tagger 'model:"):
        build(ws, "dictionary", training=[write_training(tmp_path)])
    ws.close()


def test_the_model_tagger_reads_the_nfkc_view_and_answers_in_original_offsets(token_run):
    from serendip.core.fold import fold
    from serendip.kg.taggers import ModelTagger, _unfolded

    tagger = ModelTagger(token_run)
    # every printable ASCII character as its full-width twin (U+FF01-FF5E): one character each, so the
    # spans are those of the plain text, over the full-width letters
    wide = [t.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}) for t in TEXTS]
    plain_spans, wide_spans = tagger.tag(TEXTS), tagger.tag(wide)
    assert wide_spans == plain_spans and any(plain_spans)
    text = "ﬁ ½x"  # ligature (1 -> 2 characters), a fraction (1 -> 3: 1⁄2)
    f = fold(text)
    assert _unfolded(f, (0, 2, "Chemical")) == (0, 1, "Chemical")
    assert _unfolded(f, (3, 4, "Chemical")) == (2, 3, "Chemical")  # "1" of "1⁄2": the whole "½"
    assert _unfolded(f, (3, 7, "Disease")) == (2, 4, "Disease")
