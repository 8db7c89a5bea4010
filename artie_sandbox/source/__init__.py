"""The sandbox's source database: an SQLite file with change capture and a workload generator."""
