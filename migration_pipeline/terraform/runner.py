"""Runs terraform commands through python-terraform, hardened for current Terraform.

python-terraform 0.10.1 builds command lines well but: its `destroy()` passes `-force` (gone
since 0.15), `plan` always adds `-detailed-exitcode` (exit 2 = changes present), `apply`
without a plan file prompts, it writes an empty temporary var file on plan/apply/init, its
`__getattr__` path logs through the root logger (calling `basicConfig`), and nothing has a
timeout. This subclass keeps its option syntax and replaces the rest.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from python_terraform import IsFlagged, Terraform

from migration_pipeline.errors import SpecError, TerraformCommandError
from migration_pipeline.spec import TerraformSettings
from migration_pipeline.terraform.binary import find_terraform
from migration_pipeline.terraform.state import TerraformState

log = logging.getLogger(__name__)
# python-terraform's own logger prints whole outputs at debug level: keep it quiet.
logging.getLogger("python_terraform").setLevel(logging.WARNING)

# Terraform's state lock is always taken; a run holding it briefly is waited for this long.
LOCK_WAIT_SECONDS = 60
LOCK_WAIT = f"{LOCK_WAIT_SECONDS}s"
_STATE_LOCK_HINT = (
    "Another Terraform run holds the state lock. Wait for it to finish; if none is running, "
    "release it with `terraform force-unlock`."
)

# `terraform init` already run in this process: (directory, binary, CLI config) -> the
# configuration it was run for. Every gather, step and validation asks for an init; only the
# first one for a configuration runs it.
_INITIALISED: dict[tuple[str, str, str], str] = {}
_INIT_LOCK = threading.Lock()
_INIT_INPUTS = ("*.tf", "*.tf.json", ".terraform.lock.hcl")


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _stop_with_parent(parent: int) -> Callable[[], None]:
    """A `preexec_fn`: the child is killed when the process that started it dies (a run worker
    killed by SIGKILL included), so no terraform applies on behalf of a dead step. A graceful
    stop would wait for Artie's answer first; a killed apply is converged by the next run (the
    journal). Its own session keeps the terminal's interrupts away from it."""

    def preexec() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


@dataclass(frozen=True)
class CommandResult:
    command: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


_LOCK_ERROR = "Error acquiring the state lock"


def is_lock_error(error: TerraformCommandError) -> bool:
    """Whether the command failed only because another run holds Terraform's state lock."""
    return _LOCK_ERROR in error.stderr


@dataclass(frozen=True)
class Evaluation:
    """An expression's value before any apply: `known` (with `value`), `unknown` (a variable
    without a value, an attribute of a resource not created yet) or `sensitive` (not shown)."""

    status: str
    value: object = None


def cli_config(explicit: Path | None) -> str:
    """The CLI config terraform gets: the given one, else the user's own if it exists
    ($TF_CLI_CONFIG_FILE, then ~/.terraformrc), else none; never a missing file, which makes
    terraform warn on every command."""
    if explicit:
        return str(explicit)
    for candidate in (os.environ.get("TF_CLI_CONFIG_FILE"), Path.home() / ".terraformrc"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return os.devnull


class _Command(Terraform):
    """python-terraform's option syntax without its unsafe paths."""

    def __getattr__(self, item):
        raise AttributeError(item)

    def read_state_file(self, file_path=None):
        self.tfstate = None  # the library parses the state after each command; we never need it

    def destroy(self, *args, **kwargs):
        raise NotImplementedError("python-terraform's destroy() passes -force; never used")


class TerraformRunner:
    """terraform in one working directory: `-input=false -no-color`, a timeout on every
    command, our own CLI config and no checkpoint calls; failures raise TerraformCommandError."""

    def __init__(
        self,
        working_dir: Path,
        *,
        binary: str | None = None,
        cli_config_file: Path | None = None,
        var_files: tuple[Path, ...] = (),
        timeout: float = 600,
        extra_env: dict[str, str] | None = None,
        redact: Callable[[str], str] = lambda s: s,
    ):
        self.working_dir = Path(working_dir)
        self.binary = binary or find_terraform()
        self.timeout = timeout
        self.var_files = tuple(str(v) for v in var_files)
        self.redact = redact
        self.env = {
            **os.environ,
            **(extra_env or {}),
            "TF_CLI_CONFIG_FILE": cli_config(cli_config_file),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }
        self._tf = _Command(working_dir=str(self.working_dir), terraform_bin_path=self.binary)

    def __repr__(self) -> str:
        return f"TerraformRunner({str(self.working_dir)!r}, binary={self.binary!r})"

    @classmethod
    def for_spec(
        cls, settings: TerraformSettings, directory: Path | None = None, **kwargs
    ) -> TerraformRunner:
        """A runner configured from a spec's `terraform:` settings (in another folder when
        `directory` is given, e.g. a rehearsal copy)."""
        if settings.cli_config_file and not Path(settings.cli_config_file).is_file():
            raise SpecError(
                "terraform.cli_config_file",
                f"{settings.cli_config_file} does not "
                "exist (for the sandbox, `artie-sandbox init` writes it)",
            )
        return cls(
            directory or settings.dir,
            binary=settings.binary,
            cli_config_file=settings.cli_config_file,
            var_files=settings.var_files,
            timeout=settings.timeout_seconds,
            **kwargs,
        )

    def run(
        self, command: str, *args: str, ok_codes=(0,), stdin: str | None = None, **options
    ) -> CommandResult:
        """Run `terraform <command> [options] [args]` (`stdin` written to its input); raise
        unless the exit code is in ok_codes."""
        options.setdefault("no_color", IsFlagged)
        cmd = self._tf.generate_cmd_string(command, *args, **options)
        log.info("terraform %s in %s", command, self.working_dir)
        proc = subprocess.Popen(
            cmd,
            cwd=self.working_dir,
            env=self.env,
            stdin=None if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_stop_with_parent(os.getpid()),
        )
        try:
            out, err = proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            out, err = self._stop(proc)
            raise TerraformCommandError(
                cmd,
                proc.returncode if proc.returncode is not None else -1,
                self.redact(err),
                f"Timed out after {self.timeout:g} s; Terraform was "
                "interrupted. Rerun the step: it resumes where this one stopped.",
            ) from None
        except BaseException:
            # Interrupted or terminated: no terraform may outlive the step (and its lock).
            self._stop(proc)
            raise
        if proc.returncode not in ok_codes:
            hint = _STATE_LOCK_HINT if _LOCK_ERROR in err else ""
            raise TerraformCommandError(cmd, proc.returncode, self.redact(err), hint)
        return CommandResult(tuple(cmd), proc.returncode, out, err)

    def _stop(self, proc: subprocess.Popen) -> tuple[str, str]:
        # SIGINT first: Terraform then stops providers and releases the state lock itself.
        for sig, wait in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                return proc.communicate(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        return proc.communicate()

    def init(self) -> CommandResult | None:
        """`terraform init`, once per working directory and process: again only when the
        configuration (.tf files, lock file, CLI config) changed or `.terraform` is gone.
        None when it was not needed."""
        key = (str(self.working_dir.resolve()), self.binary, self.env["TF_CLI_CONFIG_FILE"])
        with _INIT_LOCK:
            if _INITIALISED.get(key) == self._configuration():
                return None
            result = self.run("init", input=False)
            _INITIALISED[key] = self._configuration()
            return result

    def _configuration(self) -> str:
        digest = hashlib.sha256()
        paths = sorted({p for pattern in _INIT_INPUTS for p in self.working_dir.glob(pattern)})
        for path in [*paths, Path(self.env["TF_CLI_CONFIG_FILE"])]:
            digest.update(str(path).encode() + b"\0")
            if path.is_file():
                digest.update(path.read_bytes())
        for installed in (".terraform", ".terraform/providers", ".terraform/modules"):
            digest.update(b"1" if (self.working_dir / installed).exists() else b"0")
        return digest.hexdigest()

    def validate(self) -> CommandResult:
        return self.run("validate")

    def plan(self, plan_file: Path, *, refresh_only_of: str | None = None) -> bool:
        """Write a saved plan to `plan_file`; True when it holds changes. `refresh_only_of`: a
        refresh-only plan of that one resource (it records what Artie holds in the state)."""
        extra = {"refresh_only": IsFlagged, "target": [refresh_only_of]} if refresh_only_of else {}
        result = self.run(
            "plan",
            ok_codes=(0, 2),
            input=False,
            detailed_exitcode=IsFlagged,
            out=str(plan_file),
            var_file=list(self.var_files),
            lock_timeout=LOCK_WAIT,
            **extra,
        )
        return result.exit_code == 2

    def evaluate(self, expression: str) -> Evaluation:
        """`expression`'s value as `terraform console` computes it from the configuration, the
        variables (terraform.tfvars, *.auto.tfvars, var_files) and the state; nothing is
        planned or changed. `terraform console` takes the state lock and has no -lock-timeout:
        a lock held by another run is waited for as long as other commands wait (LOCK_WAIT)."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                result = self.run(
                    "console", stdin=f"jsonencode({expression})\n", var_file=list(self.var_files)
                )
                break
            except TerraformCommandError as e:
                if not is_lock_error(e) or time.monotonic() > deadline:
                    raise
                time.sleep(2)
        out = result.stdout.strip()
        if out == "(known after apply)":
            return Evaluation("unknown")
        if out == "(sensitive value)":
            return Evaluation("sensitive")
        return Evaluation("known", json.loads(json.loads(out)))

    def import_resource(self, address: str, uuid: str) -> CommandResult:
        """`terraform import`: adopt an existing Artie object as `address` (declared already)."""
        return self.run(
            "import",
            address,
            uuid,
            input=False,
            var_file=list(self.var_files),
            lock_timeout=LOCK_WAIT,
        )

    def forget(self, address: str) -> CommandResult:
        """`terraform state rm`: drop `address` from the state (the object itself stays)."""
        return self.run("state rm", address, no_color=None, lock_timeout=LOCK_WAIT)

    def show_json(self, plan_file: Path | None = None) -> dict:
        """`terraform show -json` of a saved plan, or of the current state without one."""
        args = (str(plan_file),) if plan_file else ()
        return json.loads(self.run("show", *args, json=IsFlagged).stdout)

    def state(self) -> TerraformState:
        """The state (`terraform state pull`): no provider starts, so it is quick."""
        out = self.run("state", "pull", no_color=None).stdout
        return TerraformState.parse(json.loads(out) if out.strip() else {})

    def apply(self, plan_file: Path) -> CommandResult:
        """Apply exactly the saved plan that was checked (never a fresh plan)."""
        return self.run("apply", str(plan_file), input=False, lock_timeout=LOCK_WAIT)
