"""benchmarks/design_esol.py: the top candidates are new molecules (a training molecule the GA scored
is not a design, whatever its spelling)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import design_esol


def test_training_molecules_are_not_candidates():
    train = ["OCC", "c1ccccc1O"]
    history = [("CCO", 0.9), ("Oc1ccccc1", 0.8), ("CCCO", 0.7), ("CCCCO", 0.6), ("CCCCCO", 0.5)]
    assert design_esol.new_molecules_top(history, train, 2) == ["CCCO", "CCCCO"]
    assert design_esol.new_molecules_top(history, train, 10) == ["CCCO", "CCCCO", "CCCCCO"]
