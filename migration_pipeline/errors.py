"""The one exception hierarchy every part of migration_pipeline raises."""


class MigrationError(Exception):
    """Base of every error this project raises on purpose; the message says what to do next."""


class ConfigurationError(MigrationError):
    """A setting the operator provides is missing or unusable: a file, a field, a variable."""


class TerraformNotFoundError(ConfigurationError):
    """No usable terraform binary (>= 1.5) could be found or installed."""


class SpecError(ConfigurationError):
    """migrations.yaml is missing a field or holds a value that cannot work."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class InputCheckError(ConfigurationError):
    """A check run before anything is applied failed: the spec, module, state or a destination
    cannot work as given. Lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__(
            "Nothing was applied; fix these inputs first:\n" + "\n".join(f"- {p}" for p in problems)
        )
        self.problems = list(problems)


class PreflightFailed(ConfigurationError):
    """A preflight check failed before the migration's first step; nothing was applied."""

    def __init__(self, lines: list[str]):
        super().__init__(
            "Preflight failed; nothing was applied. Fix these, then launch again "
            "(`migration-pipeline preflight` shows every check):\n" + "\n".join(lines)
        )
        self.lines = list(lines)


class ModuleEditError(MigrationError):
    """The user's Terraform module is not in a shape a migration step can edit safely."""


class TerraformCommandError(MigrationError):
    """A terraform command failed; carries the command, its exit code and Terraform's message."""

    def __init__(self, command: list[str], exit_code: int, stderr: str, hint: str = ""):
        shown = " ".join(command)
        message = f"`{shown}` failed with exit code {exit_code}: {stderr.strip() or '(no output)'}"
        super().__init__(f"{message}\n{hint}" if hint else message)
        self.command = list(command)
        self.exit_code = exit_code
        self.stderr = stderr


class PlanGuardRefusal(MigrationError):
    """The plan holds changes the step may not make; nothing was applied."""

    def __init__(self, step: str, unexpected: list[str], result: object = None):
        lines = "\n".join(f"- {u}" for u in unexpected)
        super().__init__(
            f"Refused to apply {step}: the plan holds changes this step must not make. "
            f"The module's files are restored; nothing was applied.\n{lines}"
        )
        self.step = step
        self.unexpected = list(unexpected)
        self.result = result  # the refused step's StepResult (diff, masked plan) for display


class StepRefused(MigrationError):
    """A guard outside the plan refused the step (e.g. unsharing with two pipelines attached)."""


class StepLockedError(MigrationError):
    """Another migration step holds the lock of this Terraform working directory."""


class ArtieApiError(MigrationError):
    """Artie's REST API answered with an error or could not be reached."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class ValidationInputError(MigrationError):
    """A validation cannot start: a destination, table or column named in its input is unusable."""


class ApprovalError(MigrationError):
    """An approval cannot be recorded: an unknown decision, no approver, or nothing to approve."""
