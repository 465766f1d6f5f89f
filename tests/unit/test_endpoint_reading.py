"""Every endpoint from the stored documents (registry.load_all takes its reader), with a plain fake reader: the
default endpoint first, then the others in the order they were created; a document that cannot be read makes only its
own endpoint unavailable."""

from __future__ import annotations

from signup_hooks.config import Config
from signup_hooks.endpoints import registry

CONFIG = Config(webhook_settings_parameter="/stack/webhooks/default", webhook_url_env="https://env.example.com/x")


def reader(documents: dict[str, str]) -> registry.ReadDocuments:
    def read(path: str, default_document: str, legacy: tuple[str, ...], max_age: float, stale_ok: bool = True):
        assert (path, default_document) == ("/stack/webhooks", "/stack/webhooks/default")
        return documents

    return read


def test_endpoints_come_default_first_then_in_creation_order() -> None:
    documents = {
        "/stack/webhooks/ep_b": '{"url": "https://b.example.com/", "created_at": "2026-01-02"}',
        "/stack/webhooks/ep_a": '{"url": "https://a.example.com/", "created_at": "2026-01-01"}',
    }

    found = registry.load_all(CONFIG, reader(documents), max_age=0)

    assert [endpoint.id for endpoint in found] == ["default", "ep_a", "ep_b"]
    assert found[0].effective().target.url == "https://env.example.com/x"  # WEBHOOK_URL, the default's fallback


def test_an_unreadable_document_makes_only_its_endpoint_unavailable() -> None:
    documents = {
        "/stack/webhooks/ep_a": "not json",
        "/stack/webhooks/ep_b": '{"url": "https://b.example.com/"}',
    }

    found = {endpoint.id: endpoint for endpoint in registry.load_all(CONFIG, reader(documents), max_age=0)}

    assert found["ep_a"].problem is not None and found["ep_b"].problem is None
    # the caller cannot tell what an unreadable endpoint wants, so it is not skipped
    assert [endpoint.id for endpoint in registry.receiving(list(found.values()), "user.created")] == [
        "default",
        "ep_a",
        "ep_b",
    ]
