"""Each endpoint's deliveries are keyed apart; the default endpoint's key is the event id alone, as before several
endpoints."""

from __future__ import annotations

from signup_hooks.endpoints import registry


def test_the_delivery_key_of_the_default_endpoint_is_the_event_id_as_before():
    assert registry.delivery_key("abc", "default") == "abc"
    assert registry.delivery_key("abc", "crm") == "abc#crm"
