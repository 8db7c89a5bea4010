"""The one exception hierarchy every part of migration_pipeline raises."""


class MigrationError(Exception):
    """Base of every error this project raises on purpose; the message says what to do next."""


class TerraformNotFoundError(MigrationError):
    """No usable terraform binary (>= 1.5) could be found or installed."""
