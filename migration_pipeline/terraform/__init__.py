"""Terraform: span-preserving edits of the user's module, the CLI wrapper and the plan guard."""
