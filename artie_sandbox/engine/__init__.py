"""The sandbox's replication engine: readers fill change logs, pipelines backfill then stream into DuckDB."""
