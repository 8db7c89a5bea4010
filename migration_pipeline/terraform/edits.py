"""The four file edits of a migration (promote, create, cutover, unshare) as text splices.

Each returns the new text of the files it changes (empty when its effect is already in the
files) and refuses, with the reason, when the module is not in a state where it makes sense.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from migration_pipeline.errors import ModuleEditError, StepRefused
from migration_pipeline.spec import (
    MigrationSpec,
    connector_expression,
    moved_block,
    own_address,
)
from migration_pipeline.terraform import hcl
from migration_pipeline.terraform.tables import AttachedPipeline, TableId, uncovered


@dataclass(frozen=True)
class StepEdit:
    """New text for each file a step changes; `files` is empty when nothing needs editing."""

    step: str
    files: dict[Path, str]
    notes: tuple[str, ...] = ()


def resource(module: hcl.Module, address: str) -> hcl.ResourceBlock:
    """The block declaring `address`, refusing what a step cannot edit safely."""
    block = module.resources.get(address)
    if block is None:
        hint = ""
        if module.module_calls:
            hint = (
                f" It may be declared inside a module ({', '.join(module.module_calls)}):"
                " steps edit resources of the root module only."
            )
        raise ModuleEditError(f"{address} is not declared in {module.directory}/*.tf.{hint}")
    for meta in ("count", "for_each"):
        entry = block.body.get(meta)
        if entry:
            keys = _instance_keys(
                module.files[block.path][entry.value_start : entry.value_end], meta
            )
            moves = "\n".join(
                moved_block(f"{address}[{k}]", own_address(f"{address}[{k}]")) for k in keys
            )
            raise ModuleEditError(
                f"{address} uses {meta}, so one block declares several {block.type} resources; "
                f"a step edits exactly one. Give the instance you migrate its own block "
                f"(declared without {meta}, the instance removed from {meta}) and move it "
                f"with a `moved` block, so Terraform keeps it instead of destroying and "
                f"recreating it; check that `terraform plan` shows no change, then name the "
                f"new address in the spec:\n{moves}"
            )
    return block


def _instance_keys(source: str, meta: str) -> list[str]:
    """The instance keys of a literal `for_each` / `count` (`["KEY"]` when not literal)."""
    try:
        value = hcl.literal(source)
    except hcl.NotLiteral:
        return ['"KEY"' if meta == "for_each" else "0"]
    if meta == "count" and isinstance(value, int):
        return [str(i) for i in range(value)] or ["0"]
    keys = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
    return [f'"{k}"' for k in keys] or ['"KEY"']


def literal_attr(module: hcl.Module, block: hcl.ResourceBlock, key: str, default=None):
    entry = block.body.get(key)
    if entry is None:
        return default
    source = module.files[block.path][entry.value_start : entry.value_end]
    try:
        return hcl.literal(source)
    except hcl.NotLiteral as e:
        raise ModuleEditError(
            f"{block.address}.{key} is the expression `{source}`; the step needs it written "
            "as a literal value to edit it safely."
        ) from e


def _literal(source: str, what: str):
    try:
        return hcl.literal(source)
    except hcl.NotLiteral as e:
        raise ModuleEditError(
            f"the old pipeline's {what} is the expression `{source}`; the step needs it written "
            "as a literal value to copy it safely."
        ) from e


def expression(module: hcl.Module, block: hcl.ResourceBlock, key: str) -> str | None:
    entry = block.body.get(key)
    return None if entry is None else module.files[block.path][entry.value_start : entry.value_end]


def table_ids(tables: dict | None) -> frozenset[TableId]:
    return frozenset(TableId.from_entry(k, v) for k, v in (tables or {}).items())


def module_pipelines(module: hcl.Module, reader: str) -> list[AttachedPipeline]:
    """Pipelines of the module whose `source_reader_uuid` is `<reader>.uuid`."""
    found = []
    for block in module.resources.values():
        if block.type == "artie_pipeline" and (
            (expression(module, block, "source_reader_uuid") or "").strip() == f"{reader}.uuid"
        ):
            tables = table_ids(literal_attr(module, block, "tables", {}))
            found.append(AttachedPipeline(block.address, tables))
    return found


def promote(module: hcl.Module, spec: MigrationSpec, attached: list[AttachedPipeline]) -> StepEdit:
    """Reader: `is_shared = true` and `tables` covering every table of every attached pipeline."""
    reader = resource(module, spec.reader)
    _require_old_pipeline(module, spec, "promote")
    needed = needed_tables(spec, attached)
    text = module.files[reader.path]
    splices = []
    if literal_attr(module, reader, "is_shared", False) is not True:
        splices.append(hcl.set_entry(text, reader.path, reader.body, "is_shared", "true"))
    current = literal_attr(module, reader, "tables")
    missing = uncovered(table_ids(current), needed)
    if missing and current is None:
        value = {t.key: _reader_table(t) for t in missing}
        indent = hcl.entry_indent(text, reader.body)
        splices.append(
            hcl.set_entry(text, reader.path, reader.body, "tables", hcl.render(value, indent))
        )
    elif missing:
        container = hcl.object_container(reader.body.get("tables"))
        indent = hcl.entry_indent(text, container)
        items = [(t.key, hcl.render(_reader_table(t), indent)) for t in missing]
        splices.extend(hcl.set_entries(text, reader.path, container, items))
    notes = tuple(f"reader tables: added {t} (used by {needed[t]})" for t in missing)
    return StepEdit("promote", hcl.apply_splices(module.files, splices, (reader,)), notes)


def needed_tables(spec: MigrationSpec, attached: list[AttachedPipeline]) -> dict[TableId, str]:
    """Every table the shared reader must capture, each with who needs it: the attached
    pipelines', the new pipeline's added tables and the spec's `reader_tables`."""
    needed: dict[TableId, str] = {}
    for pipeline in attached:
        for table in pipeline.tables:
            needed.setdefault(table, pipeline.label)
    for key, settings in spec.new_pipeline.tables.items():
        needed.setdefault(TableId.from_entry(key, settings), spec.new_pipeline.address)
    if spec.reader_tables is not None:
        declared = {TableId.parse(t) for t in spec.reader_tables}
        dropped = uncovered(declared, needed)
        if dropped:
            raise StepRefused(
                "reader_tables leaves out "
                + "; ".join(f"{t} (used by {needed[t]})" for t in dropped)
                + ": the reader would stop capturing them and those pipelines would go stale. "
                "Add them to reader_tables or remove reader_tables to use the union."
            )
        needed.update({t: "reader_tables" for t in declared})
    return needed


def _require_old_pipeline(module: hcl.Module, spec: MigrationSpec, step: str) -> None:
    if spec.old_pipeline not in module.resources and spec.new_pipeline.address in module.resources:
        raise StepRefused(
            f"{spec.old_pipeline} is already cut over (only "
            f"{spec.new_pipeline.address} is left): {step} no longer applies."
        )
    resource(module, spec.old_pipeline)


def _reader_table(table: TableId) -> dict:
    return {"name": table.name, "schema": table.schema} if table.schema else {"name": table.name}


def create(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Add the new pipeline after the old one: a copy of it with the spec's overrides."""
    if spec.old_pipeline not in module.resources and spec.new_pipeline.address in module.resources:
        return StepEdit("create", {})  # already cut over: the new pipeline exists
    old = resource(module, spec.old_pipeline)
    reader = resource(module, spec.reader)
    new_text = new_pipeline_text(module, spec)
    existing = module.resources.get(spec.new_pipeline.address)
    if existing is not None:
        if module.text(existing) == new_text:
            return StepEdit("create", {})
        raise StepRefused(
            f"{spec.new_pipeline.address} is already declared in {existing.path.name} with "
            "different settings; the new pipeline's address must be free. Choose another "
            "new_pipeline.address or remove that block."
        )
    if literal_attr(module, reader, "is_shared", False) is not True:
        raise StepRefused(f"{spec.reader} is not shared yet: run promote before create.")
    new_tables = table_ids(_literal(_attr_source(new_text, "tables") or "{}", "tables"))
    gaps = uncovered(table_ids(literal_attr(module, reader, "tables")), new_tables)
    if gaps:
        raise StepRefused(
            f"{spec.reader}.tables does not cover {', '.join(map(str, gaps))} of the new "
            "pipeline: run promote again so the reader captures them."
        )
    if _destination(new_text) == _destination(module.text(old)):
        raise StepRefused(
            "The new pipeline would write to the same destination as the old one (same "
            "destination_connector_uuid and destination_config): set new_pipeline."
            "destination_connector or destination_config to a different destination."
        )
    splice = hcl.Splice(old.path, old.end, old.end, "\n\n" + new_text)
    return StepEdit("create", hcl.apply_splices(module.files, [splice]))


def new_pipeline_text(module: hcl.Module, spec: MigrationSpec) -> str:
    """The new block: the old block's text with its label and the spec's overrides replaced."""
    old = resource(module, spec.old_pipeline)
    new = spec.new_pipeline
    text = module.text(old)
    block = hcl.parse_block(text)
    path = block.path
    # Labels may be quoted or bare identifiers: `resource "artie_pipeline" "x"` or `... x`.
    label = re.match(rf'resource\s+"?artie_pipeline"?\s+("?{re.escape(old.name)}"?)', text)
    splices = [hcl.Splice(path, label.start(1), label.end(1), f'"{new.address.split(".", 1)[1]}"')]
    if new.name is not None:
        splices.append(hcl.set_entry(text, path, block.body, "name", hcl.render(new.name)))
    if new.destination_connector or new.destination_connector_uuid:
        value = connector_expression(new) or hcl.render(new.destination_connector_uuid)
        splices.append(hcl.set_entry(text, path, block.body, "destination_connector_uuid", value))
    indent = hcl.entry_indent(text, block.body)
    if new.destination_config is not None:
        splices.append(
            hcl.set_entry(
                text,
                path,
                block.body,
                "destination_config",
                hcl.render(dict(new.destination_config), indent),
            )
        )
    for key, value in new.settings.items():
        splices.append(hcl.set_entry(text, path, block.body, key, hcl.render(value, indent)))
    splices.extend(_table_overrides(text, block, new.tables))
    status = block.body.get("status_override")
    if status is not None and "status_override" not in new.settings:
        # Artie rejects status_override on creation; the copy starts without it.
        splices.append(hcl.remove_entry(text, path, status))
    return hcl.apply_splices({path: text}, splices, (block,))[path]


def _table_overrides(text: str, block: hcl.ResourceBlock, overrides: dict) -> list[hcl.Splice]:
    if not overrides:
        return []
    entry = block.body.get("tables")
    container = hcl.object_container(entry) if entry else None
    if container is None:
        raise ModuleEditError("the old pipeline's tables must be a literal map to override them")
    indent = hcl.entry_indent(text, container)
    splices, added = [], []
    for key, settings in overrides.items():
        wanted = TableId.from_entry(key, settings)
        match = next(
            (
                e
                for e in container.entries
                if e.key == key
                or TableId.from_entry(
                    e.key, _literal(text[e.value_start : e.value_end], f"tables[{e.key!r}]")
                )
                == wanted
            ),
            None,
        )
        inner = hcl.object_container(match) if match else None
        if match is None:
            added.append((key, hcl.render({**_reader_table(wanted), **settings}, indent)))
        elif inner is None:
            raise ModuleEditError(f"tables[{key!r}] of the old pipeline must be a literal object")
        else:
            items = [(name, hcl.render(value, indent + "  ")) for name, value in settings.items()]
            splices.extend(hcl.set_entries(text, block.path, inner, items))
    return splices + hcl.set_entries(text, block.path, container, added)


def _attr_source(block_text: str, key: str) -> str | None:
    block = hcl.parse_block(block_text)
    entry = block.body.get(key)
    return None if entry is None else block_text[entry.value_start : entry.value_end]


def _destination(block_text: str) -> tuple:
    connector = (_attr_source(block_text, "destination_connector_uuid") or "").strip()
    config = _attr_source(block_text, "destination_config")
    try:
        return connector, hcl.literal(config) if config else None
    except hcl.NotLiteral:
        return connector, re.sub(r"\s+", "", config)


def cutover(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Remove the old pipeline's block and the comment lines directly above it."""
    if spec.old_pipeline not in module.resources:
        return StepEdit("cutover", {})
    old = resource(module, spec.old_pipeline)
    if spec.new_pipeline.address not in module.resources:
        raise StepRefused(
            f"{spec.new_pipeline.address} is not in the module: run create "
            "and validate the new pipeline before cutover."
        )
    # An output that only exposes the old pipeline goes with it; any other reference refuses.
    exposing = [
        o
        for o in module.outputs.values()
        if re.fullmatch(
            rf"{re.escape(old.address)}(\.\w+)*", (expression(module, o, "value") or "").strip()
        )
    ]
    refs = _references(module, [old, *exposing])
    if refs:
        raise StepRefused(
            f"{old.address} is still referenced at {', '.join(refs)}: remove "
            "those references, then run cutover again."
        )
    splices = [_block_removal(module, block) for block in [old, *exposing]]
    notes = tuple(f"removed output {o.name} (it only exposed {old.address})" for o in exposing)
    return StepEdit("cutover", hcl.apply_splices(module.files, splices), notes)


def _block_removal(module: hcl.Module, block: hcl.ResourceBlock) -> hcl.Splice:
    text = module.files[block.path]
    start = hcl.comment_lines_above(text, block.start)
    end = hcl.line_end(text, block.end)
    before_blank = start == 0 or text[hcl.line_start(text, start - 1) : start].strip() == ""
    if before_blank and text[end : hcl.line_end(text, end)].strip() == "" and end < len(text):
        end = hcl.line_end(text, end)
    elif before_blank and end >= len(text) and start > 0:
        start = hcl.line_start(text, start - 1)  # no blank line left at the end of the file
    return hcl.Splice(block.path, start, end, "")


def _references(module: hcl.Module, removed: list[hcl.ResourceBlock]) -> list[str]:
    pattern = re.compile(rf"(?<![\w.]){re.escape(removed[0].address)}\b")
    found = []
    for path, text in module.files.items():
        for match in pattern.finditer(text):
            inside = any(path == b.path and b.start <= match.start() < b.end for b in removed)
            line = text[hcl.line_start(text, match.start()) : match.start()].lstrip()
            if not inside and not line.startswith(("#", "//")):
                found.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


def unshare(module: hcl.Module, spec: MigrationSpec, attached: list[AttachedPipeline]) -> StepEdit:
    """Reader: `is_shared = false` and `tables` removed; only with at most one pipeline left."""
    reader = resource(module, spec.reader)
    if spec.old_pipeline in module.resources:
        raise StepRefused(f"{spec.old_pipeline} is still in the module: run cutover first.")
    if len(attached) > 1:
        raise StepRefused(
            f"{spec.reader} still has {len(attached)} pipelines attached "
            f"({', '.join(p.label for p in attached)}); Artie only unshares a reader with at "
            "most one pipeline. If the others are meant to stay on this reader, set "
            "`unshare: false` for this migration (the reader stays shared); otherwise cut them "
            "over first."
        )
    text = module.files[reader.path]
    splices = []
    if literal_attr(module, reader, "is_shared", False) is not False:
        splices.append(hcl.set_entry(text, reader.path, reader.body, "is_shared", "false"))
    tables = reader.body.get("tables")
    if tables is not None:
        splices.append(hcl.remove_entry(text, reader.path, tables))
    return StepEdit("unshare", hcl.apply_splices(module.files, splices, (reader,)))
