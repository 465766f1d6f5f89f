"""Which origin the saved custom header and signing secret are bound to: origins compare scheme, host and port, a
change that touches no URL or credential keeps the binding, and setting a secret binds both to the URL in use."""

from __future__ import annotations

import base64
import dataclasses
import secrets
from typing import Any

from signup_hooks.admin import webhook_routes as admin_logic
from signup_hooks.endpoints import custom_header, settings, settings_input
from signup_hooks.model import urls

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_origins_compare_scheme_host_and_port_with_default_ports_spelled_out():
    assert urls.origin_of("https://Hooks.Example.com/a?b") == "https://hooks.example.com:443"
    assert urls.origin_of("https://hooks.example.com:443/x") == urls.origin_of("https://hooks.example.com/y")
    assert urls.origin_of("http://hooks.example.com/x") != urls.origin_of("https://hooks.example.com/x")
    assert urls.origin_of("http://[::1]:8080/x") == "http://[::1]:8080"
    assert urls.origin_of("not a url") is None


BOUND = settings.StoredSettings(
    url="https://a.example.com/hook",
    signing_secret=SECRET,
    custom_header=custom_header.CustomHeader("X-Key", "v"),
    credentials_origin="https://a.example.com:443",
)


def change(**fields: Any) -> settings_input.SettingsChange:
    return settings_input.SettingsChange(fields=frozenset(fields), **fields)


def test_a_change_that_touches_no_url_or_credential_keeps_the_binding_even_when_webhook_url_differs():
    updated, cleared = admin_logic.with_change(
        dataclasses.replace(BOUND, url=None), change(format=None), "https://b.example.com/x", "now"
    )
    assert (updated.credentials_origin, updated.custom_header, cleared) == (
        BOUND.credentials_origin,
        BOUND.custom_header,
        False,
    )


def test_setting_a_secret_binds_both_credentials_to_the_url_in_use():
    updated, cleared = admin_logic.with_change(BOUND, change(signing_secret=SECRET), "", "now")
    assert (updated.credentials_origin, cleared) == ("https://a.example.com:443", False)
    moved, cleared = admin_logic.with_change(
        dataclasses.replace(BOUND, url=None), change(signing_secret=SECRET), "https://b.example.com/x", "now"
    )
    assert (moved.credentials_origin, moved.custom_header, cleared) == ("https://b.example.com:443", None, True)
