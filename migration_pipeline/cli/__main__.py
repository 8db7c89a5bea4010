"""`python -m migration_pipeline.cli`: the same as the `migration-pipeline` command."""

import sys

from migration_pipeline.cli import main

sys.exit(main())
