"""Messy, realistic Terraform root modules shared by the edit and integration tests (they parse)."""

from __future__ import annotations

from pathlib import Path

from migration_pipeline.spec import MigrationSpec

PROVIDERS_TF = """\
terraform {
  required_providers {
    artie = {
      source = "artie-labs/artie"   # the sandbox mirror serves it too
    }
  }
}

variable "artie_api_key" {
  type      = string
  sensitive = true
}

variable "source_path" { type = string }
variable "destination_dir" {
  type = string
}

provider "artie" {
  api_key = var.artie_api_key
}

# The key also feeds this resource, so plans carry it (masked) in their values.
resource "terraform_data" "key_fingerprint" {
  input = { key = var.artie_api_key }
}
"""

CONNECTORS_TF = """\
# ---------------------------------------------------------------
#  Connectors.   Owned by the platform team; ask #data-platform.
# ---------------------------------------------------------------
resource "artie_connector" "mysql" {
  name        = "prod-mysql"     # do not rename: dashboards key on it
  type        = "sqlite"
  sqlite_config = {
    path = var.source_path
  }
}

resource "artie_connector" "snowflake" {
	name = "warehouse"
	type = "duckdb"
	duckdb_config = { directory = var.destination_dir }
}

resource "artie_connector" "duckdb_v2" {
  name = "analytics v2"
  type = "duckdb"
  duckdb_config = {
    directory = var.destination_dir
  }
}
"""

PIPELINES_TF = """\
/*
 * Replication from prod MySQL.
 * Reader first, then the pipelines that use it.
 */
resource "artie_source_reader"   "mysql" {
  name           = "prod reader"
  connector_uuid = artie_connector.mysql.uuid   # the source
  database_name  = "shop"

  # data_plane_name is inherited from the connector
}

locals {
  description = <<-EOT
    Tables { are } listed below; "quotes" and } braces in a heredoc
    must not confuse the editor.
  EOT
}

// An unrelated resource between ours
resource "terraform_data" "marker" {
  input = local.description
}

# The pipeline we are moving off Snowflake.
# Keep the alias: BI reads ORDERS_V1.
resource "artie_pipeline" "orders_snowflake" {
  name                       = "orders -> snowflake"
  source_reader_uuid         = artie_source_reader.mysql.uuid
  destination_connector_uuid = artie_connector.snowflake.uuid
  destination_config = {
    database = "analytics"
    schema   = "main"
  }
  tables = {
    "shop.orders" = { name = "orders", schema = "shop", alias = "orders_v1" }
    "shop.customers" = {
      name               = "customers"
      schema             = "shop"    # PII: emails excluded
      columns_to_exclude = ["email"]
    }
    "shop.line_items"    =    {name="line_items",schema="shop"}
  }
  soft_delete_rows = true
}

output "reader_uuid" {
  value = artie_source_reader.mysql.uuid
}
"""


def write_module(directory: Path, files: dict[str, str] | None = None) -> Path:
    """Write the default three-file module (or `files`) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    files = files or {
        "providers.tf": PROVIDERS_TF,
        "connectors.tf": CONNECTORS_TF,
        "pipelines.tf": PIPELINES_TF,
    }
    for name, text in files.items():
        (directory / name).write_bytes(text.encode())
    return directory


def spec_for(directory: Path, **overrides) -> MigrationSpec:
    """The spec the tests migrate with: orders_snowflake to a new DuckDB pipeline."""
    body = {
        "name": "orders_to_duckdb",
        "terraform": {"dir": str(directory)},
        "reader": "artie_source_reader.mysql",
        "old_pipeline": "artie_pipeline.orders_snowflake",
        "new_pipeline": {
            "address": "artie_pipeline.orders_duckdb",
            "name": "orders -> duckdb v2",
            "destination_connector": "artie_connector.duckdb_v2",
            "destination_config": {"database": "analytics_v2", "schema": "main"},
            "tables": {"shop.orders": {"alias": "orders", "enable_history_mode": True}},
        },
        **overrides,
    }
    return MigrationSpec.model_validate(body)


# One file, schema-less tables, comments inside maps, trailing commas, nested blocks.
SINGLE_FILE_TF = """\
terraform {
  backend "local" {}
}

resource "artie_source_reader" "shop" {
  name           = "shop"
  connector_uuid = artie_connector.shop.uuid
  is_shared      = false  # flipped by the migration
}

moved {
  from = artie_connector.legacy
  to   = artie_connector.shop
}

# Analytics v1: the pipeline being replaced.
// Runbook: https://wiki.example/artie
resource "artie_pipeline" "v1" {
  name = "v1"
  source_reader_uuid         = artie_source_reader.shop.uuid
  destination_connector_uuid = artie_connector.v1.uuid
  destination_config = { database = "v1", schema = "main", }
  tables = {
    # hot tables first
    orders    = { name = "orders", }
    customers = { name = "customers", columns_to_exclude = ["ssn"] }

    products = {
      name = "products" // catalogue
    }
  }
  depends_on = [artie_source_reader.shop]
  lifecycle {
    ignore_changes = [status_override]
  }
}
"""


def mysql_spec(directory: Path, **new) -> MigrationSpec:
    """The smallest migration the edit tests use: reader `mysql`, pipeline v1 -> v2 (`new`: the
    new pipeline's other settings)."""
    return MigrationSpec.model_validate(
        {
            "name": "m",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.mysql",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {"address": "artie_pipeline.v2", **new},
        }
    )


def single_file_spec(directory: Path) -> MigrationSpec:
    return MigrationSpec.model_validate(
        {
            "name": "v1_to_v2",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.shop",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {
                "address": "artie_pipeline.v2",
                "name": "v2",
                "destination_connector": "artie_connector.v2",
                "tables": {"products": {"skip_deletes": True}},
            },
        }
    )
