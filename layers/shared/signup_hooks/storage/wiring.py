"""`Stores` made of this package's storage, for the tables and queues the environment (Config) names."""

from __future__ import annotations

from signup_hooks.config import Config
from signup_hooks.endpoints import registry
from signup_hooks.endpoints.registry import Endpoint
from signup_hooks.storage import settings_store, stream
from signup_hooks.storage.deliveries_table import DeliveriesTable
from signup_hooks.storage.endpoint_switch import EndpointSwitch
from signup_hooks.storage.health_table import HealthTable
from signup_hooks.storage.idempotency import IdempotencyTable
from signup_hooks.storage.ports import Stores
from signup_hooks.storage.queues import DeadLetterQueue, RetryQueue
from signup_hooks.storage.users_table import UsersTable


def stores_for(config: Config) -> Stores:
    """What a delivery of this function uses. Cheap: no AWS client is made before its first call."""

    def every_endpoint() -> list[Endpoint]:
        return registry.load_all(config, settings_store.read_documents, config.settings_max_age)

    return Stores(
        endpoints=every_endpoint,
        dead_letters=DeadLetterQueue(config.dead_letter_queue_url),
        idempotency=IdempotencyTable(config.idempotency_table),
        users=UsersTable(config.users_table),
        log=DeliveriesTable(config.deliveries_table) if config.deliveries_table else None,
        health=HealthTable(config.deliveries_table) if config.deliveries_table else None,
        retry_queue=RetryQueue(config.retry_queue_url) if config.retry_queue_url else None,
        announcements=RetryQueue(config.announcement_queue_url) if config.announcement_queue_url else None,
        stream=stream.batch_records,
        switch=EndpointSwitch(config) if config.deliveries_table else None,
    )


def fresh_endpoints(config: Config) -> list[Endpoint]:
    """Every endpoint as stored now (never a cached or stale copy: what an admin change builds on)."""
    return registry.load_all(config, settings_store.read_documents, max_age=0, stale_ok=False)
