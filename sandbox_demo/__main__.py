"""`python -m sandbox_demo --state DIR` (what `make demo` runs): the example migration, end to end."""

import sys

from sandbox_demo.demo import main

sys.exit(main())
