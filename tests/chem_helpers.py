"""Small molecule sets for the serendip.chem tests."""
from __future__ import annotations


def small_set() -> list[str]:
    """192 small molecules (benzenes, pyridines, cyclohexanes with one or two substituents)."""
    subs = ["C", "O", "N", "Cl", "F", "C(=O)O", "OC", "C#N"]
    cores = [("c1ccccc1{}", "c1ccc({})cc1{}"), ("c1ccncc1{}", "c1cnc({})cc1{}"), ("C1CCCCC1{}", "C1CCC({})CC1{}")]
    out = []
    for one, two in cores:
        out += [one.format(s) for s in subs]
        out += [two.format(a, b) for a in subs for b in subs if a != b]
    return out
