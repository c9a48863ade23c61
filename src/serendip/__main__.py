"""``python -m serendip``: the same as the ``serendip`` command (:mod:`serendip.entry`)."""
import sys

from serendip.entry import main

sys.exit(main())
