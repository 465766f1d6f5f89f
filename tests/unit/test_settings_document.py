"""The settings document as Parameter Store holds it: JSON whose strings carry no brace, and a value that is not JSON
is an error, never an empty configuration."""

from __future__ import annotations

import json

import pytest
from signup_hooks.endpoints import settings
from signup_hooks.errors import StorageUnavailable
from signup_hooks.storage import settings_store


def test_the_stored_document_holds_no_brace_inside_its_strings():
    text = settings_store.encode_document({"message_template": "{{a}} {name} }}{{", "url": None})
    assert text.count("{") == 1 and text.count("}") == 1
    assert json.loads(text) == {"message_template": "{{a}} {name} }}{{", "url": None}


def test_a_document_that_is_not_json_is_an_error_not_an_empty_configuration():
    names = settings.SettingsNames("/doc")
    with pytest.raises(StorageUnavailable):
        settings.parse({"/doc": "not json"}, names, "")
    assert json.loads(settings_store.encode_document({"url": None}))["url"] is None
