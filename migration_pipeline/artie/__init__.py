"""Client for Artie's public REST API (the real service or the sandbox stand-in)."""
