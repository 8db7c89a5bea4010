# The shop's CDC setup: one source database replicated by Artie into a DuckDB warehouse.
#
#   shop (SQLite) --> source reader "shop" --> pipeline "analytics_v1" --> DuckDB analytics_v1
#
# analytics_v2 is the warehouse we are moving to; its connector exists already so that the
# migration only has to add a pipeline.

resource "artie_connector" "shop" {
  type = "sqlite" # sandbox-only connector type, standing in for MySQL
  name = "shop"

  sqlite_config = {
    path = var.source_database_path
  }
}

resource "artie_connector" "analytics_v1" {
  type = "duckdb" # sandbox-only connector type, standing in for DuckDB / MotherDuck
  name = "analytics_v1"

  duckdb_config = {
    directory = "${var.warehouse_directory}/analytics_v1"
  }
}

resource "artie_connector" "analytics_v2" {
  type = "duckdb"
  name = "analytics_v2"

  duckdb_config = {
    directory = "${var.warehouse_directory}/analytics_v2"
  }
}

# A dedicated reader: it feeds exactly one pipeline, so it does not list tables itself.
resource "artie_source_reader" "shop" {
  name           = "shop"
  connector_uuid = artie_connector.shop.uuid
  database_name  = var.source_database_name
}

resource "artie_pipeline" "analytics_v1" {
  name                       = "analytics_v1"
  source_reader_uuid         = artie_source_reader.shop.uuid
  destination_connector_uuid = artie_connector.analytics_v1.uuid

  destination_config = {
    database = "analytics_v1"
    schema   = "main"
  }

  tables = {
    "customers" = {
      name = "customers"
    }
    "orders" = {
      name = "orders"
    }
    # order_items has a composite primary key; nothing to configure for it
    "order_items" = {
      name = "order_items"
    }
    "products" = {
      name = "products"
    }
  }

  include_artie_updated_at_column    = true
  include_database_updated_at_column = true
}
