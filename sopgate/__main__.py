"""``python -m sopgate``: the same as the ``sopgate`` console script."""

from __future__ import annotations

import sys

from sopgate.cli import main

sys.exit(main())
