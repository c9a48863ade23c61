"""serendip.chem tests: skipped as a whole without the chem extra (RDKit)."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")
