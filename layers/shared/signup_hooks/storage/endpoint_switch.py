"""Switching an endpoint off from the delivery side: its receiver answered 410 Gone (results.Reason.GONE).

The write is an admin change's (admin/endpoint_routes.py): under the endpoint's lease (settings_lease.py), read
afresh with its version, written as the very next version or taken back. So it never undoes an administrator's change
made meanwhile, and of two deliveries that met a 410 at once only one finds the endpoint on and switches it off: only
that one is told it did, and announces it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from signup_hooks.config import Config
from signup_hooks.endpoints import registry, settings
from signup_hooks.model import clock
from signup_hooks.model.names import DEFAULT_ENDPOINT
from signup_hooks.storage import settings_lease, settings_store

logger = Logger(child=True)


class EndpointSwitch:
    def __init__(self, config: Config) -> None:
        self._config = config

    def disable(self, endpoint_id: str, reason: str) -> str | None:
        """Disable the endpoint, saying why: when it was disabled (ISO 8601, to the second), or None when this call
        did not do it (it was off already, was deleted, or changed meanwhile). Raises Conflict when an admin change
        holds its lease, StorageUnavailable when SSM or DynamoDB fails."""
        config = self._config
        environment_url = config.webhook_url_env if endpoint_id == DEFAULT_ENDPOINT else ""
        names = registry.settings_names(config, endpoint_id)
        with settings_lease.held(config.deliveries_table, endpoint_id):
            snapshot, version = settings_store.read_for_change(names, environment_url)
            exists = snapshot.source is not settings.SettingsSource.NONE or endpoint_id == DEFAULT_ENDPOINT
            if not exists or not snapshot.stored.enabled:
                return None
            at = clock.to_the_second()
            written = settings_store.save(names, snapshot.stored.disabled(reason, at))
            if written != (version or 0) + 1:
                # Something changed the document between the read and the write (by hand: an admin change waits for
                # the lease): take this write back. One deleted meanwhile stays, disabled: the delivery functions
                # have no right to delete settings. So do a default endpoint's older parameters: its document wins.
                if written > 1:
                    settings_store.restore(names, written - 1)
                logger.warning(
                    "an endpoint was not disabled: its settings changed meanwhile", extra={"version": written}
                )
                return None
        return at
