"""The sandbox's HTTP API: Artie's public REST API subset, plus sandbox-only extensions."""
