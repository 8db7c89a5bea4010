"""artie_sandbox: a local stand-in for Artie (REST API, Terraform provider, replication engine)."""

__version__ = "0.1.0"
