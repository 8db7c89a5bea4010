"""The example migration on the local sandbox: what needs both the product and the stand-in.

`migration_pipeline` (the product) and `artie_sandbox` (the stand-in for Artie) never import each
other; this package imports both. It holds the one sandbox preparation (`prepare`), the in-process
migration driver (`driver`), the demo (`python -m sandbox_demo`, `make demo`) and the UI launcher
(`python -m sandbox_demo.ui`, `make ui`).
"""
