"""Plans as terraform-plugin-framework makes them for Artie's provider, on top of PyPI `tf`.

`tf` plans without looking at the configuration, but two framework rules Artie's provider relies
on need it: an Optional + Computed attribute left out of the configuration becomes "known after
apply" when the resource changes (unless a plan modifier keeps the state's value), and an
attribute with a `Default` takes that default when left out. `PlanningServicer` decodes the
configuration of each plan request and makes it available to the resource's `plan`.
"""

from __future__ import annotations

import contextvars

from tf import provider as tf_provider
from tf.utils import Diagnostics

CONFIG: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "artie_plan_config", default=None
)


class PlanningServicer(tf_provider.ProviderServicer):
    """tf's servicer, with the configuration of the resource being planned in `CONFIG`."""

    def PlanResourceChange(self, request, context):  # noqa: N802 - the gRPC method's name
        diags = Diagnostics()
        attrs = self._get_res_attrs(request.type_name)
        blocks = self._get_res_blocks(request.type_name)
        _, config = tf_provider._decode_state(diags, attrs, blocks, request.config)
        token = CONFIG.set(None if diags.has_errors() else config)
        try:
            return super().PlanResourceChange(request, context)
        finally:
            CONFIG.reset(token)
