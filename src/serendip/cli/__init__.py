"""The ``serendip`` command line (Typer + Rich). Each command only parses, calls the API, prints.

NumPy is imported here first, with SIGINT blocked in the importing thread: the worker threads that its
BLAS (OpenBLAS) starts at load time inherit that mask, so a Ctrl-C is never handed to one of them. The
kernel gives a process-directed signal to the main thread unless that thread blocks it, and then to any
other thread that does not; a BLAS worker that took it ran whatever SIGINT handler was installed at
that moment (RDKit's, during a substructure search, which only sets its own flag), and the Ctrl-C was
lost. ``serendip chem screen`` blocks SIGINT in the main thread and takes it with ``sigwait`` in a thread
of its own; with the BLAS workers blocking it too, that thread is the only one that can receive it.
"""
from __future__ import annotations

import signal as _signal

_mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})
try:
    import numpy  # noqa: F401  (loads the BLAS and starts its threads while SIGINT is blocked)
finally:
    _signal.pthread_sigmask(_signal.SIG_SETMASK, _mask)
del _mask
