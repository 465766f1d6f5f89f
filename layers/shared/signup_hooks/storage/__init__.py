"""The storage layer: the only modules that call AWS (boto3 and botocore, Powertools' idempotency persistence and
secrets provider). Each turns items and messages into the package's domain values and back, and botocore's errors
into StorageUnavailable; none decides anything about a delivery.

- aws.py: the boto3 clients, with short timeouts.
- settings_store.py: SSM Parameter Store, the endpoints' settings documents (with a per-process cache).
- users_table.py: the users table (profiles and credentials).
- deliveries_table.py: the delivery log's records; health_table.py: each endpoint's health, in the same table.
- idempotency.py: the idempotency table (exactly once, as the receiver sees it).
- queues.py: the retry queue and the dead-letter queue (SQS).
- stream.py: reading the users table's stream back (a stream batch Lambda gave up on).
- secrets.py: Secrets Manager, the admin token.
- settings_cache.py, settings_lease.py: the per-process cache of parameter reads; one admin change at a time.
- ports.py: what the pipeline needs from storage, as protocols, and `Stores`, the set one invocation uses.
- wiring.py: `Stores` made of these adapters, built from the environment's Config.

The pipeline takes a `Stores` as an argument and imports only ports.py, so its unit tests use plain fakes; the
rule is checked by tests/unit/test_layering.py.
"""
