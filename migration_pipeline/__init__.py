"""Online migration of an Artie CDC pipeline to a new destination, orchestrated by Dagster."""
