"""``python -m optimizer.cli``: the ``carbonpark`` command."""

import sys

from optimizer.cli import main

sys.exit(main())
