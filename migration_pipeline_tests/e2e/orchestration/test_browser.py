"""What a person sees in a real browser (Playwright driving Debian's chromium) on the Dagster UI of the sandbox: launching the job from the Launchpad, the closed gate and its reason on the run page, the validation checks, the approval materialized through the UI's own dialog, the cutover run succeeding and the migration complete; a screenshot of each page is kept."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from migration_pipeline.orchestration.runs import STOP_REASON_TAG, STOPPED_AT_TAG
from migration_pipeline.spec import load_spec
from migration_pipeline_tests.support.daemon import set_gates
from migration_pipeline_tests.support.demo import prepared_demo
from sandbox_demo.deployment import Deployment
from sandbox_demo.prepare import MIGRATION
from sandbox_demo.watch import Watch

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed and `make chromium` could not "
    "install it here (apt-get install -y chromium)",
)
JOB = f"{MIGRATION}_job"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """$TEST_ARTIFACTS_DIR/browser (CI keeps it), else the test's own temp folder."""
    root = os.environ.get("TEST_ARTIFACTS_DIR")
    folder = Path(root) / "browser" if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        # One clean validation opens the approval gate: what a person sees, not the streak rule
        # (the phases' own, tested without Dagster), is under test; each validation is one more run.
        set_gates(ready.config, MIGRATION, clean_validations=1)
        yield ready


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)
    return found


@pytest.mark.timeout(600)
def test_a_person_performs_the_migration_in_the_browser(prepared, tmp_path, screenshots):
    from playwright.sync_api import expect, sync_playwright

    spec = load_spec(prepared.config, MIGRATION)
    with (
        Deployment(prepared.env, tmp_path / "dagster-dev.log") as deployment,
        dg.DagsterInstance.get() as instance,
        sync_playwright() as playwright,
    ):
        watch = Watch(deployment, spec, instance)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        base = deployment.url

        page.goto(f"{base}/locations/{deployment.location}/jobs/{JOB}/playground")
        page.get_by_role("button", name="Skip").click(timeout=60_000)  # the community dialog
        page.screenshot(path=str(screenshots / "1-launchpad.png"))
        page.get_by_role("button", name="Launch Run").click()
        page.wait_for_url("**/runs/**", timeout=60_000)
        first = page.url.rsplit("/", 1)[-1]
        stopped = wait_for(
            "the first run to stop at a gate",
            lambda: next(
                (
                    r
                    for r in deployment.runs(JOB)
                    if r.run_id == first and r.status == "SUCCESS" and STOPPED_AT_TAG in r.tags
                ),
                None,
            ),
            180,
        )
        page.reload()
        page.get_by_role("button", name="View tags and config").click(timeout=60_000)
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(stopped.tags[STOPPED_AT_TAG], timeout=30_000)
        expect(dialog).to_contain_text(stopped.tags[STOP_REASON_TAG][:40])
        page.screenshot(path=str(screenshots / "2-run-gate-closed.png"))
        page.keyboard.press("Escape")

        status = wait_for(
            "a clean validation waiting for approval",
            lambda: (
                (s := watch.status())["latest_validation"]
                and s["latest_validation"]["verdict"] == "clean"
                and any(g["name"] == "approval" and not g["open"] for g in s["gates"])
                and s
            ),
            240,
        )
        page.goto(f"{base}/assets/{MIGRATION}/validation_report?view=checks")
        for check in ("content_matches", "row_counts_match", "schemas_match"):
            expect(page.get_by_text(check).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("verdict").first).to_be_visible()
        page.screenshot(path=str(screenshots / "3-validation-checks.png"))

        validation = status["latest_validation"]["id"]
        page.goto(f"{base}/assets/{MIGRATION}/approval")
        # Shift-click: the UI's way to materialize with config (it opens the launchpad dialog).
        page.get_by_role("button", name="Materialize").click(modifiers=["Shift"], timeout=60_000)
        launchpad = page.get_by_role("dialog")
        editor = launchpad.locator(".CodeMirror").first
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(
            f"ops: {{{MIGRATION}__approval: {{config: {{who: browser-person, decision: approve, "
            f"comment: seen in the browser, validation_id: '{validation}'}}}}}}"
        )
        expect(launchpad.get_by_text("No errors")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(screenshots / "4-approval-dialog.png"))
        launchpad.get_by_role("button", name="Materialize").click()

        wait_for("the migration to complete", lambda: watch.status()["phase"] == "complete", 300)
        cutover = next(
            r
            for r in deployment.runs(JOB)
            if r.status == "SUCCESS" and STOPPED_AT_TAG not in r.tags
        )
        page.goto(f"{base}/runs/{cutover.run_id}")
        expect(page.get_by_text("Success").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("unshare_reader").first).to_be_visible()
        page.screenshot(path=str(screenshots / "5-cutover-succeeded.png"))
        browser.close()
    assert watch.status()["approval"]["who"] == "browser-person"
    assert sorted(p.name for p in screenshots.glob("*.png")) == [
        "1-launchpad.png",
        "2-run-gate-closed.png",
        "3-validation-checks.png",
        "4-approval-dialog.png",
        "5-cutover-succeeded.png",
    ]
