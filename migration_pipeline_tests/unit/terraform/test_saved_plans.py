"""Saved plans (sensitive values in clear text) stay private and never outlive their step."""

from __future__ import annotations

import stat

import pytest

from migration_pipeline.terraform import workdir


def test_a_saved_plan_lives_in_a_private_folder_and_is_removed_even_on_failure(tmp_path):
    with pytest.raises(KeyboardInterrupt), workdir.saved_plan(tmp_path, "promote") as path:
        path.write_text("plan with a secret")
        folder = path.parent
        assert folder == tmp_path / ".terraform" / "migration-pipeline" / "plans"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        raise KeyboardInterrupt
    assert list(folder.iterdir()) == []


def test_a_plan_left_by_a_killed_run_is_removed_when_the_next_step_takes_the_lock(tmp_path):
    folder = tmp_path / ".terraform" / "migration-pipeline" / "plans"
    folder.mkdir(parents=True, mode=0o755)
    (folder / "create-4242.tfplan").write_text("left by a killed worker")
    with workdir.locked(tmp_path):
        assert list(folder.iterdir()) == []
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
