"""``python -m optimlab``: the same as the ``optimlab`` command."""

import sys

from .cli import main

sys.exit(main())
