"""Serendip: a local-first research workbench.

Import stays light: no torch, transformers, faiss or rdkit at package import time.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "Workspace"]


def __getattr__(name: str):  # lazy re-export, keeps `import serendip` cheap
    if name == "Workspace":
        from serendip.workbench import Workspace

        return Workspace
    raise AttributeError(name)
