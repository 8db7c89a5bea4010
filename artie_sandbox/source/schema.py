"""The declared source schema: column kinds, their SQLite storage and DuckDB destination types.

A source is self-describing: `capture.install` writes the declared tables into `_artie_columns`
inside the SQLite file, so the engine reads the schema from the source, not from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

# kind -> (SQLite declared type, DuckDB type). Decimals and timestamps are stored as TEXT because
# SQLite has no exact decimal type and NUMERIC affinity would turn '12.30' into a float.
KINDS: dict[str, tuple[str, str]] = {
    "integer": ("INTEGER", "BIGINT"),
    "text": ("TEXT", "VARCHAR"),
    "decimal": ("TEXT", "DECIMAL(12,2)"),
    "double": ("REAL", "DOUBLE"),
    "timestamp": ("TEXT", "TIMESTAMP"),
    "boolean": ("INTEGER", "BOOLEAN"),
    "json": ("TEXT", "VARCHAR"),
}


@dataclass(frozen=True)
class SourceColumn:
    name: str
    kind: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"column {self.name}: unknown kind {self.kind!r}; use one of {sorted(KINDS)}"
            )

    @property
    def sqlite_type(self) -> str:
        return KINDS[self.kind][0]

    @property
    def duckdb_type(self) -> str:
        return KINDS[self.kind][1]


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> SourceColumn:
        return next(c for c in self.columns if c.name == name)


def _cols(*spec: str) -> tuple[SourceColumn, ...]:
    """`name:kind` or `name:kind?` (nullable); key and NOT NULL columns have no `?`."""
    return tuple(
        SourceColumn(s.split(":")[0], s.split(":")[1].rstrip("?"), s.endswith("?")) for s in spec
    )


CUSTOMERS = SourceTable(
    "customers",
    _cols(
        "id:integer",
        "email:text",
        "name:text",
        "country:text?",
        "credit_limit:decimal",
        "score:double?",
        "is_active:boolean",
        "created_at:timestamp",
        "preferences:json?",
    ),
    ("id",),
)
PRODUCTS = SourceTable(
    "products",
    _cols(
        "id:integer",
        "sku:text",
        "title:text",
        "price:decimal",
        "weight_kg:double?",
        "in_stock:boolean",
        "attributes:json?",
        "updated_at:timestamp",
    ),
    ("id",),
)
ORDERS = SourceTable(
    "orders",
    _cols(
        "id:integer",
        "customer_id:integer",
        "status:text",
        "total:decimal",
        "discount:double?",
        "is_gift:boolean",
        "ordered_at:timestamp",
        "shipping:json?",
        "note:text?",
    ),
    ("id",),
)
ORDER_ITEMS = SourceTable(
    "order_items",
    _cols(
        "order_id:integer",
        "line_no:integer",
        "product_id:integer",
        "quantity:integer",
        "unit_price:decimal",
        "tax_rate:double?",
        "is_returned:boolean",
        "added_at:timestamp",
    ),
    ("order_id", "line_no"),
)

DEMO_TABLES: tuple[SourceTable, ...] = (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS)
# Share of the seeded rows each demo table gets.
DEMO_SHARES = {"customers": 0.10, "products": 0.05, "orders": 0.35, "order_items": 0.50}
