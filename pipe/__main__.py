"""`python -m pipe`: the entry point the container image runs."""

import sys

from pipe.pipe import main

sys.exit(main())
