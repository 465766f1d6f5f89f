"""Settings are read once from the environment, checked, and bounded."""

from __future__ import annotations

import pytest
from signup_hooks.config import load_config
from signup_hooks.errors import ConfigError
from signup_hooks.sending.messages import render, validate_template


def test_defaults_follow_open_webui():
    config = load_config({})
    assert config.default_user_role == "pending"
    assert config.message_template == "New user signed up: {name}"
    assert config.settings_max_age == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_USER_ROLE", "root"),
        ("WEBHOOK_READ_TIMEOUT", "600"),
        ("WEBHOOK_CONNECT_TIMEOUT", "soon"),
        ("WEBHOOK_CONNECT_TIMEOUT", "\u0663"),  # an Arabic-Indic 3: float() reads it, it is no ASCII number
        ("WEBHOOK_CONNECT_TIMEOUT", "1_0"),
        ("WEBHOOK_CONNECT_TIMEOUT", "1e1"),
        ("WEBHOOK_MAX_ATTEMPTS", "\u00b2"),
        ("SETTINGS_CACHE_SECONDS", "11"),
        ("MESSAGE_TEMPLATE", "New user: {password}"),
        ("MESSAGE_TEMPLATE", "{name.__class__}"),
        ("MESSAGE_TEMPLATE", "{name[0]}"),
        ("MESSAGE_TEMPLATE", "{name!r}"),
        ("MESSAGE_TEMPLATE", "{name:>999999}"),
        ("MESSAGE_TEMPLATE", "unbalanced {name"),
    ],
)
def test_bad_settings_fail_at_cold_start_naming_the_variable(name, value):
    with pytest.raises(ConfigError):
        load_config({name: value})


def test_a_function_missing_a_required_setting_says_which():
    with pytest.raises(ConfigError, match="USERS_TABLE"):
        load_config({}).require("users_table")


def test_values_are_substituted_literally():
    validate_template("Nuevo usuario registrado: {name}")
    assert render("Nuevo usuario registrado: {name}", {"name": "Tim"}) == "Nuevo usuario registrado: Tim"
    assert render("{name} <{email}>", {"name": "{email}", "email": "a@b.c"}) == "{email} <a@b.c>"
    assert render("Literal {{braces}} stay: {name}", {"name": "x"}) == "Literal {braces} stay: x"


def test_the_password_hash_profile_is_checked():
    assert load_config({"PASSWORD_HASH_PROFILE": "owasp-minimum"}).password_hash_profile == "owasp-minimum"
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE"):
        load_config({"PASSWORD_HASH_PROFILE": "md5"})
