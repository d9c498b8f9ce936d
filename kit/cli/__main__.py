"""``python -m kit.cli``: the same as the ``ngff-kit`` script."""

import sys

from kit.cli.app import main

sys.exit(main())
