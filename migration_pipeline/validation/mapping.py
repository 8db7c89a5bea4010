"""Which old table is compared with which new one, and which columns legitimately differ.

The Dagster layer builds `PipelineSettings` from the two `artie_pipeline` blocks of the user's
Terraform; the CLI builds plain mappings. Both end as `TableMapping`s for the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_SUFFIX = "__history"
ARTIE_PREFIX = "__artie"
# Schemas Artie (and the sandbox engine) keep offsets and staging in: never data.
ARTIE_SCHEMA_PREFIX = "_artie"


def is_artie_column(name: str) -> bool:
    """Artie's metadata columns (`__artie_updated_at`, `__artie_delete`, ...): never data."""
    return name.lower().startswith(ARTIE_PREFIX)


def _names(values: object) -> frozenset[str]:
    return frozenset(str(v).lower() for v in (values or ()))  # type: ignore[union-attr]


@dataclass(frozen=True)
class TableSettings:
    """One entry of an `artie_pipeline`'s `tables`: how that pipeline writes the table."""

    name: str
    schema: str | None = None
    alias: str | None = None
    exclude_columns: frozenset[str] = frozenset()
    include_columns: frozenset[str] = frozenset()
    columns_to_hash: frozenset[str] = frozenset()
    history_mode: bool = False
    primary_keys_override: tuple[str, ...] = ()

    @property
    def source_key(self) -> str:
        """The `tables` map key Artie uses: `schema.name`, or the bare name."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def destination_name(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class PipelineSettings:
    """The settings of one `artie_pipeline` that change what lands in its destination."""

    tables: tuple[TableSettings, ...]
    soft_delete: bool = False
    destination_schema: str | None = None

    def table(self, source_key: str) -> TableSettings | None:
        wanted = source_key.lower()
        for table in self.tables:
            if table.source_key.lower() == wanted or table.name.lower() == wanted:
                return table
        return None


@dataclass(frozen=True)
class TableRef:
    """A destination table; without a schema it is looked up by name (`main` first)."""

    name: str
    schema: str | None = None

    @property
    def display(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class TableSide:
    """How one pipeline writes one table: where, and which columns it leaves out or alters."""

    ref: TableRef
    soft_delete: bool = False
    exclude_columns: frozenset[str] = frozenset()
    include_columns: frozenset[str] = frozenset()
    hashed_columns: frozenset[str] = frozenset()
    history_mode: bool = False

    def writes(self, column: str) -> bool:
        """False for a column this pipeline is configured not to write (so its absence is fine)."""
        name = column.lower()
        if name in self.exclude_columns:
            return False
        return not self.include_columns or name in self.include_columns

    @property
    def history_ref(self) -> TableRef:
        return TableRef(self.ref.name + HISTORY_SUFFIX, self.ref.schema)


@dataclass(frozen=True)
class TableMapping:
    """Compare `old` with `new`; `new=None` means the new pipeline does not replicate the table."""

    old: TableSide
    new: TableSide | None
    key_columns: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.old.ref.display

    def comparable(self, column: str) -> bool:
        """A column both pipelines write the same way (hashed on one side only is not)."""
        if is_artie_column(column):
            return False
        sides = [self.old] + ([self.new] if self.new else [])
        if not all(side.writes(column) for side in sides):
            return False
        hashed = {column.lower() in side.hashed_columns for side in sides}
        return len(hashed) == 1


def plain_mapping(old: str, new: str | None = None, keys: tuple[str, ...] = ()) -> TableMapping:
    """A mapping without pipeline settings (the CLI's `--table OLD[:NEW]`)."""
    return TableMapping(TableSide(TableRef(old)), TableSide(TableRef(new or old)), tuple(keys))


def _side(pipeline: PipelineSettings, table: TableSettings) -> TableSide:
    return TableSide(
        ref=TableRef(table.destination_name, pipeline.destination_schema),
        soft_delete=pipeline.soft_delete,
        exclude_columns=_names(table.exclude_columns),
        include_columns=_names(table.include_columns),
        hashed_columns=_names(table.columns_to_hash),
        history_mode=table.history_mode,
    )


def map_pipelines(old: PipelineSettings, new: PipelineSettings) -> tuple[TableMapping, ...]:
    """One mapping per table of the old pipeline, matched to the new one by source table."""
    mappings = []
    for table in old.tables:
        counterpart = new.table(table.source_key)
        keys = table.primary_keys_override or (
            counterpart.primary_keys_override if counterpart else ()
        )
        mappings.append(
            TableMapping(
                old=_side(old, table),
                new=_side(new, counterpart) if counterpart else None,
                key_columns=tuple(keys),
            )
        )
    return tuple(mappings)
