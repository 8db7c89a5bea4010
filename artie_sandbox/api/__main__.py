"""`python -m artie_sandbox.api`: run the sandbox API server."""

import sys

from artie_sandbox.api.server import main

sys.exit(main())
