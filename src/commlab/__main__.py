"""``python -m commlab``: the same as the ``commlab`` command."""

import sys

from commlab.cli import main

sys.exit(main())
