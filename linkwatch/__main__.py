"""``python -m linkwatch`` is the ``linkwatch`` command."""
import sys

from .cli import main

sys.exit(main())
