"""Where the repository's own files are, for tests at any depth of the test tree."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sandbox"
EXAMPLE_MODULE = EXAMPLE / "terraform"
