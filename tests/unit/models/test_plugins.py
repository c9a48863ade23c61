"""Domain loading (serendip.models.plugins): a domain that fails to import is named, with the reason,
by the registry's unknown-name error instead of being swallowed."""
from __future__ import annotations

import sys

import pytest

from serendip.errors import ConfigError
from serendip.models import plugins
from serendip.models.registries import PRETRAIN_CORPORA, TOKENIZERS
from serendip.registry import Registry


@pytest.fixture
def failing_domain(tmp_path, monkeypatch):
    """A fake domain module on sys.path whose import raises ImportError, among the candidates."""
    (tmp_path / "serendip_fake_domain.py").write_text(
        "raise ImportError(\"No module named 'rdkit'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "KNOWN_DOMAINS", (*plugins.KNOWN_DOMAINS, "serendip_fake_domain"))
    monkeypatch.setattr(plugins, "DOMAIN_ERRORS", {})
    loaded = plugins.load_domains(reload=True)
    yield loaded
    sys.modules.pop("serendip_fake_domain", None)
    monkeypatch.undo()
    plugins.load_domains(reload=True)


def test_failing_domain_is_recorded_not_raised(failing_domain):
    assert "serendip.genomics" in failing_domain and "serendip_fake_domain" not in failing_domain
    assert plugins.DOMAIN_ERRORS == {"serendip_fake_domain": "ImportError: No module named 'rdkit'"}


def test_unknown_name_says_which_domain_failed_and_why(failing_domain):
    with pytest.raises(ConfigError) as err:
        TOKENIZERS.get("selfies")
    message = str(err.value)
    assert message.startswith("unknown tokenizer 'selfies'; expected one of: bpe, kmer")  # then smiles, from serendip.chem
    assert "(serendip_fake_domain failed to import: ImportError: No module named 'rdkit')" in message
    with pytest.raises(ConfigError, match="serendip_fake_domain failed to import"):
        PRETRAIN_CORPORA.get("molecules")


def test_unknown_name_without_failures_lists_the_choices(monkeypatch):
    monkeypatch.setattr(plugins, "DOMAIN_ERRORS", {})
    reg: Registry = Registry("widget")
    reg.add("a", object())
    with pytest.raises(ConfigError) as err:
        reg.get("b")
    assert str(err.value) == "unknown widget 'b'; expected one of: a"
