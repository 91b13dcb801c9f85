"""``python -m genzoo.cli``: the same as the ``genzoo`` console script (used by bench and DDP workers)."""

import sys

from genzoo.cli.main import main

sys.exit(main())
