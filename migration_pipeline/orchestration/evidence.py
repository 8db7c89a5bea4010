"""One validation as Dagster records it: the comparison appended to the history, every mismatched
key stored as the validation_mismatches table (a pandas DataFrame written through dagster-duckdb),
and the metadata and check outcomes of both assets. The job's validate step and a
materialization from the UI or the schedule run this same code and record the same events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.orchestration.checks import CheckOutcome, checks
from migration_pipeline.orchestration.destinations import run_validation
from migration_pipeline.orchestration.event_metadata import (
    progress_metadata,
    validation_key,
    validation_metadata,
)
from migration_pipeline.orchestration.facts import Snapshot
from migration_pipeline.orchestration.graph import destination_key, mismatches_key, pipeline_key
from migration_pipeline.orchestration.resources import ValidationResource
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.inputs import ConnectorSource
from migration_pipeline.validation import ValidationReport
from migration_pipeline.validation.history import append
from migration_pipeline.validation.mismatches import MismatchRow, mismatch_rows

QUERY = "SELECT * FROM validation_mismatches ORDER BY table_name, kind, key"
PREVIEW_ROWS = 20
COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn(
            "validation_id", "VARCHAR", description="The validation that listed the key."
        ),
        dg.TableColumn("table_name", "VARCHAR", description="The old destination's table."),
        dg.TableColumn(
            "kind", "VARCHAR", description="missing_in_new, extra_in_new, changed or duplicate."
        ),
        dg.TableColumn(
            "key", "VARCHAR", description="The key as JSON (a list for a composite key)."
        ),
        dg.TableColumn(
            "column_name", "VARCHAR", description="The differing column (changed rows)."
        ),
        dg.TableColumn(
            "old_value",
            "VARCHAR",
            description="The old side's value, as JSON (for a duplicate: its row count in old).",
        ),
        dg.TableColumn(
            "new_value",
            "VARCHAR",
            description="The new side's value, as JSON (for a duplicate: its row count in new).",
        ),
        dg.TableColumn(
            "first_seen",
            "TIMESTAMPTZ",
            description="When validations started listing the key without a break.",
        ),
        dg.TableColumn(
            "confirmed",
            "BOOLEAN",
            description="Listed by the previous validation too "
            "(a persisting mismatch, not a row in flight).",
        ),
    ]
)
_CREATE = (
    "CREATE OR REPLACE TABLE validation_mismatches (validation_id VARCHAR, "
    "table_name VARCHAR, kind VARCHAR, key VARCHAR, column_name VARCHAR, "
    "old_value VARCHAR, new_value VARCHAR, first_seen TIMESTAMPTZ, confirmed BOOLEAN)"
)


@dataclass(frozen=True)
class Evidence:
    """A validation and what the validation_report and validation_mismatches assets record."""

    report: ValidationReport
    report_metadata: dict[str, Any] = field(repr=False)
    mismatches: pd.DataFrame = field(repr=False)
    mismatches_metadata: dict[str, Any] = field(repr=False)
    checks: tuple[CheckOutcome, ...] = ()
    progress: dict[str, Any] = field(default_factory=dict, repr=False)

    def observations(self, spec: MigrationSpec) -> list[dg.AssetObservation]:
        """What the validation saw of each destination (rows per table, latest write) and of the
        new pipeline (its progress and lag, as Artie reported it): observations on those assets,
        so their pages plot the two destinations converging."""
        observed = [
            dg.AssetObservation(
                destination_key(spec, side), metadata=side_metadata(self.report, side)
            )
            for side in ("old", "new")
        ]
        if self.progress:
            observed.append(dg.AssetObservation(pipeline_key(spec, "new"), metadata=self.progress))
        return observed

    def events(self, spec: MigrationSpec) -> list:
        """The events a job step logs (an asset materialization yields the same, as results)."""
        key = validation_key(spec)
        return [
            dg.AssetMaterialization(key, metadata=self.report_metadata),
            *(
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=o.name,
                    passed=o.passed,
                    metadata=o.metadata,
                    severity=o.severity,
                )
                for o in self.checks
            ),
            dg.AssetMaterialization(mismatches_key(spec), metadata=self.mismatches_metadata),
            *self.observations(spec),
        ]


def gather_evidence(
    spec: MigrationSpec,
    snapshot: Snapshot,
    validation: ValidationResource,
    artie: ConnectorSource | None = None,
    full: bool = False,
) -> Evidence:
    """Compare the destinations of `spec` (every row when `full`), then record the evidence in
    its history database (with where the new pipeline stood, from the snapshot's Artie status)."""
    report = run_validation(spec, snapshot.state, validation.options(), artie, full)
    return record_evidence(validation.history(spec), report, snapshot.facts.new_status)


def record_evidence(
    history: DuckDBResource, report: ValidationReport, status: PipelineDetail | None = None
) -> Evidence:
    """Append `report` to the history (confirming mismatches against the previous run) and
    replace the stored validation_mismatches with its keys, in one connection."""
    with history.get_connection() as con:
        report = append(con, report)
        frame = mismatch_frame(mismatch_rows(con, report))
        con.execute("BEGIN")
        con.execute(_CREATE)
        if len(frame):
            con.register("mismatches_frame", frame)
            con.execute("INSERT INTO validation_mismatches SELECT * FROM mismatches_frame")
            con.unregister("mismatches_frame")
        con.execute("COMMIT")
    progress = progress_metadata(status, report.finished_at)
    return Evidence(
        report,
        {**validation_metadata(report), **progress},
        frame,
        mismatches_metadata(frame, history.database, report),
        tuple(checks(report)),
        progress,
    )


def side_metadata(report: ValidationReport, side: str) -> dict[str, Any]:
    """One destination as the validation read it: its rows in total and per table (numbers, so
    the asset page plots them) and its latest Artie write time (a timestamp), with the validation
    that read them."""
    rows = {t.table: t.old_rows if side == "old" else t.new_rows for t in report.tables}
    writes = [w for t in report.tables if (w := t.freshness.latest(side)) is not None]
    return {
        "dagster/row_count": sum(rows.values()),
        **{f"rows/{table}": n for table, n in sorted(rows.items())},
        **({"latest_write": dg.MetadataValue.timestamp(max(writes))} if writes else {}),
        "validation_id": report.id,
    }


def mismatch_frame(rows: list[MismatchRow]) -> pd.DataFrame:
    """The rows as a DataFrame with the stored table's columns, in its order."""
    names = [c.name for c in COLUMNS.columns]
    records = [asdict(r) for r in rows]
    for r in records:
        r["table_name"], r["column_name"] = r.pop("table"), r.pop("column")
    frame = pd.DataFrame.from_records(records, columns=names)
    frame["first_seen"] = pd.to_datetime(frame["first_seen"], utc=True)
    return frame.astype({"confirmed": bool})


def mismatches_metadata(
    frame: pd.DataFrame, database: str, report: ValidationReport
) -> dict[str, Any]:
    """Row count, where to query it, and the first rows."""
    preview = [
        dg.TableRecord({k: (None if pd.isna(v) else str(v)) for k, v in row.items()})
        for row in frame.head(PREVIEW_ROWS).to_dict("records")
    ]
    truncated = [
        t.table
        for t in report.tables
        if t.missing_in_new.truncated
        or t.extra_in_new.truncated
        or len(t.changed) < t.changed_total
        or len(t.duplicate_keys) < t.duplicate_total
    ]
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": COLUMNS,
        "validation_id": report.id,
        "confirmed_keys": int(frame.drop_duplicates(["table_name", "key"])["confirmed"].sum()),
        "database": dg.MetadataValue.path(database),
        "query": dg.MetadataValue.text(QUERY),
        "tables_listing_only_first_keys": dg.MetadataValue.text(", ".join(truncated) or "none"),
        "preview": dg.MetadataValue.table(preview, schema=COLUMNS),
    }
