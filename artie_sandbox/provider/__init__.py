"""The Terraform provider `registry.terraform.io/artie-labs/artie`, written in Python (PyPI `tf`).

Same resource and attribute names as Artie's real provider for what the sandbox supports
(`artie_connector`, `artie_source_reader`, `artie_pipeline`), calling the API the same way.
`artie-sandbox init` installs it into a filesystem mirror; `python -m artie_sandbox.provider` runs it.
"""

VERSION = "0.1.0"
FULL_NAME = "registry.terraform.io/artie-labs/artie"
