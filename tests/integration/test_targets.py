"""The SSRF guard: every address class and spelling, at save time (admin PUT) and at send time (notifier),
and the connection going to the address that was checked. No real DNS: names resolve through a fake."""

from __future__ import annotations

import dataclasses
import json
import socket
from typing import Any

import pytest
from signup_hooks.sending import targets
from signup_hooks.sending.targets import AddressClass, Policy

from functions.admin import app as admin
from functions.notifier import app as notifier
from tests.helpers import load_event

STRICT = Policy(allow_http=False, allow_private=False)
LOCAL_STACK = Policy(allow_http=True, allow_private=True)

# (host as written in a URL, what it really is)
BLOCKED_BY_DEFAULT = [
    ("127.0.0.1", AddressClass.LOOPBACK),
    ("127.1.2.3", AddressClass.LOOPBACK),
    ("[::1]", AddressClass.LOOPBACK),
    ("10.0.0.1", AddressClass.PRIVATE),
    ("172.16.5.4", AddressClass.PRIVATE),
    ("192.168.1.1", AddressClass.PRIVATE),
    ("[fd12:3456::1]", AddressClass.PRIVATE),
    ("100.64.0.1", AddressClass.SHARED),
    ("100.127.255.254", AddressClass.SHARED),
    ("169.254.169.254", AddressClass.METADATA),
    ("169.254.1.1", AddressClass.LINK_LOCAL),
    ("[fe80::1]", AddressClass.LINK_LOCAL),
    ("[fd00:ec2::254]", AddressClass.METADATA),
    ("224.0.0.1", AddressClass.MULTICAST),
    ("239.255.255.250", AddressClass.MULTICAST),
    ("[ff02::1]", AddressClass.MULTICAST),
    ("240.0.0.1", AddressClass.RESERVED),
    ("255.255.255.255", AddressClass.RESERVED),
    ("0.0.0.0", AddressClass.UNSPECIFIED),  # noqa: S104 - a target under test, not a bind
    ("0", AddressClass.UNSPECIFIED),
    ("[::]", AddressClass.UNSPECIFIED),
    # IPv4 inside IPv6
    ("[::ffff:127.0.0.1]", AddressClass.LOOPBACK),
    ("[::ffff:7f00:1]", AddressClass.LOOPBACK),
    ("[::ffff:169.254.169.254]", AddressClass.METADATA),
    ("[::ffff:10.0.0.1]", AddressClass.PRIVATE),
    ("[64:ff9b::a9fe:a9fe]", AddressClass.METADATA),  # NAT64 of 169.254.169.254
    ("[2002:7f00:1::]", AddressClass.LOOPBACK),  # 6to4 of 127.0.0.1
    # Numeric spellings the C resolver accepts
    ("2130706433", AddressClass.LOOPBACK),
    ("0x7f.1", AddressClass.LOOPBACK),
    ("017700000001", AddressClass.LOOPBACK),
    ("0x7f000001", AddressClass.LOOPBACK),
    ("0177.0.0.1", AddressClass.LOOPBACK),
    ("127.1", AddressClass.LOOPBACK),
    ("0xa9fea9fe", AddressClass.METADATA),
    ("2852039166", AddressClass.METADATA),
    ("0251.0376.0251.0376", AddressClass.METADATA),
]
ALWAYS_BLOCKED = [(host, kind) for host, kind in BLOCKED_BY_DEFAULT if kind in targets.NEVER_ALLOWED]
PRIVATE_ONLY = [(host, kind) for host, kind in BLOCKED_BY_DEFAULT if kind not in targets.NEVER_ALLOWED]


@pytest.fixture
def fake_dns(monkeypatch):
    """Make names resolve to chosen addresses (tests have no DNS); IP literals resolve as usual."""
    table: dict[str, list[str]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in table:
            lookups.append(name)
            answers = table[name] if len(lookups) == 1 or len(table[name]) == 1 else table[name][1:]
            family = lambda a: socket.AF_INET6 if ":" in a else socket.AF_INET  # noqa: E731
            return [(family(a), socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in answers[:1]]
        if name and not _is_literal(name):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    fake = type("FakeDns", (), {"table": table, "lookups": lookups})
    return fake


def _is_literal(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return True
    except OSError:
        return False


def strict(module: Any, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    fields = {"allow_http_targets": False, "allow_private_targets": False, **changes}
    monkeypatch.setattr(module, "config", dataclasses.replace(module.config, **fields))


# ---------------------------------------------------------------------------------------------------------------------
# The check itself
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "kind"), BLOCKED_BY_DEFAULT)
def test_each_address_class_and_spelling_is_refused_by_default(host, kind):
    with pytest.raises(targets.BlockedTarget) as refused:
        targets.check(f"https://{host}/hook", STRICT)
    assert refused.value.reason == "blocked_target"
    assert kind.value.replace("_", "-") in refused.value.message


@pytest.mark.parametrize(("host", "kind"), BLOCKED_BY_DEFAULT)
def test_each_spelling_is_classified_as_what_it_really_is(host, kind):
    address = targets.parse_host(host.strip("[]"))
    assert address is not None
    assert targets.classify(address) is kind


@pytest.mark.parametrize(("host", "kind"), ALWAYS_BLOCKED)
def test_link_local_metadata_and_reserved_stay_refused_when_private_targets_are_allowed(host, kind):
    with pytest.raises(targets.BlockedTarget):
        targets.check(f"http://{host}/hook", LOCAL_STACK)


@pytest.mark.parametrize(("host", "kind"), PRIVATE_ONLY)
def test_loopback_private_and_shared_are_allowed_only_by_the_setting(host, kind):
    checked = targets.check(f"http://{host}:8080/hook", LOCAL_STACK)
    assert targets.classify(targets.parse_host(checked.address)) is kind  # type: ignore[arg-type]


# An IPv6 zone id, as a URL writes it (`%25` then the zone) or raw: the address is what it is without it
ZONE_SPELLINGS = [
    ("[fd00:ec2::254%25eth0]", AddressClass.METADATA),
    ("[fd00:ec2::254%eth0]", AddressClass.METADATA),
    ("[FD00:EC2::254%25ETH0]", AddressClass.METADATA),
    ("[fd00:ec2:0:0:0:0:0:254%251]", AddressClass.METADATA),
    ("[fd00:ec2::23%25eth0]", AddressClass.METADATA),
    ("[::ffff:169.254.169.254%25eth0]", AddressClass.METADATA),
    ("[fe80::1%25eth0]", AddressClass.LINK_LOCAL),
]


@pytest.mark.parametrize(("host", "kind"), ZONE_SPELLINGS)
def test_an_address_with_a_zone_id_is_classified_as_the_address_it_is(host, kind):
    address = targets.parse_host(host.strip("[]"))
    assert address is not None
    assert targets.classify(address) is kind


@pytest.mark.parametrize(("host", "kind"), ZONE_SPELLINGS)
def test_metadata_with_a_zone_id_stays_refused_when_private_targets_are_allowed(host, kind):
    with pytest.raises(targets.BlockedTarget, match=kind.value.replace("_", "-")):
        targets.check(f"http://{host}/latest/meta-data/", LOCAL_STACK)


def test_a_private_address_with_a_zone_id_is_checked_and_connected_to_without_it():
    checked = targets.check("http://[fd12:3456::1%25eth0]:8080/hook", LOCAL_STACK)
    assert (checked.address, checked.host_header) == ("fd12:3456::1", "[fd12:3456::1]:8080")
    with pytest.raises(targets.BlockedTarget, match="private"):
        targets.check("https://[fd12:3456::1%25eth0]/hook", STRICT)


def test_plain_http_is_refused_unless_allowed():
    with pytest.raises(targets.BlockedTarget, match="http"):
        targets.check("http://93.184.216.34/hook", STRICT)
    assert targets.check("http://93.184.216.34/hook", Policy(allow_http=True)).address == "93.184.216.34"


def test_a_public_address_passes_and_keeps_host_port_and_path():
    checked = targets.check("https://93.184.216.34:8443/a/b?c=d", STRICT)
    assert (checked.scheme, checked.address, checked.port, checked.path) == ("https", "93.184.216.34", 8443, "/a/b?c=d")


@pytest.mark.parametrize("host", ["0x7f.1.2.3.4", "999999999999", "0x1ffffffff", "08.0.0.1", "1.2.3.256"])
def test_broken_numeric_hosts_are_invalid(host):
    with pytest.raises(targets.InvalidTarget):
        targets.check(f"https://{host}/hook", STRICT)


def test_a_name_resolving_to_a_private_address_is_refused(fake_dns):
    fake_dns.table["internal.example.com"] = ["10.1.2.3"]
    with pytest.raises(targets.BlockedTarget, match="private"):
        targets.check("https://internal.example.com/hook", STRICT)


def test_a_name_is_refused_when_any_of_its_addresses_is_blocked(monkeypatch):
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.216.34", "169.254.169.254"])
    with pytest.raises(targets.BlockedTarget, match="metadata"):
        targets.check("https://mixed.example.com/hook", LOCAL_STACK)


def test_a_public_name_is_pinned_to_the_address_that_was_checked(monkeypatch):
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.216.34"])
    checked = targets.check("https://hooks.example.com/hook", STRICT)
    assert checked.address == "93.184.216.34"
    assert checked.host == "hooks.example.com"
    assert checked.host_header == "hooks.example.com"


def test_a_name_that_does_not_resolve_is_a_dns_failure(fake_dns):
    with pytest.raises(targets.UnresolvableTarget) as failed:
        targets.check("https://nowhere.invalid/hook", STRICT)
    assert failed.value.reason == "dns_failure"


# ---------------------------------------------------------------------------------------------------------------------
# At save time: admin PUT answers 422 naming url, and stores nothing
# ---------------------------------------------------------------------------------------------------------------------


def put_url(url: str, context: Any) -> tuple[int, dict[str, Any]]:
    event = load_event("admin_put_webhook")
    event["body"] = json.dumps({"url": url})
    response = admin.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(("host", "kind"), BLOCKED_BY_DEFAULT)
def test_admin_put_refuses_each_blocked_target(aws, lambda_context, monkeypatch, host, kind):
    strict(admin, monkeypatch)
    status, body = put_url(f"https://{host}/hook", lambda_context)
    assert status == 422
    assert body["field"] == "url"
    assert body["code"] == "blocked_target"
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_admin_put_refuses_plain_http_by_default(aws, lambda_context, monkeypatch):
    strict(admin, monkeypatch)
    status, body = put_url("http://hooks.example.com/hook", lambda_context)
    assert (status, body["field"], body["code"]) == (422, "url", "blocked_target")


def test_admin_put_refuses_a_name_that_resolves_to_a_private_address(aws, lambda_context, monkeypatch, fake_dns):
    strict(admin, monkeypatch)
    fake_dns.table["intranet.example.com"] = ["192.168.0.10"]
    status, body = put_url("https://intranet.example.com/hook", lambda_context)
    assert (status, body["field"], body["code"]) == (422, "url", "blocked_target")


def test_admin_put_refuses_metadata_even_in_the_local_stack(aws, lambda_context):
    # The sandbox allows http and private targets, as the local stack does
    status, body = put_url("http://169.254.169.254/latest/meta-data/", lambda_context)
    assert (status, body["field"], body["code"]) == (422, "url", "blocked_target")


@pytest.mark.parametrize(("host", "kind"), ZONE_SPELLINGS)
def test_admin_put_refuses_metadata_with_a_zone_id_even_in_the_local_stack(aws, lambda_context, host, kind):
    status, body = put_url(f"http://{host}/latest/meta-data/", lambda_context)
    assert (status, body["field"], body["code"]) == (422, "url", "blocked_target")
    assert aws.ssm.describe_parameters()["Parameters"] == []


def test_admin_put_accepts_a_name_that_does_not_resolve_yet(aws, lambda_context, monkeypatch, fake_dns):
    strict(admin, monkeypatch)
    assert put_url("https://not-yet-created.example.com/hook", lambda_context)[0] == 200


# ---------------------------------------------------------------------------------------------------------------------
# At send time: the notifier dead-letters with reason blocked_target, and sends nothing
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "kind"), BLOCKED_BY_DEFAULT)
def test_notifier_dead_letters_each_blocked_target(aws, lambda_context, monkeypatch, host, kind):
    strict(notifier, monkeypatch, webhook_url_env=f"https://{host}/hook")
    response = notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    assert response["batchItemFailures"] == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "blocked_target"
    assert letter["http_status"] is None


@pytest.mark.parametrize(("host", "kind"), ZONE_SPELLINGS)
def test_notifier_dead_letters_metadata_with_a_zone_id_even_in_the_local_stack(
    aws, lambda_context, configure, host, kind
):
    configure(webhook_url_env=f"http://{host}/latest/meta-data/")
    response = notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    assert response["batchItemFailures"] == []
    [letter] = aws.dead_letters()
    assert letter["reason"] == "blocked_target"


@pytest.mark.parametrize(("host", "kind"), ZONE_SPELLINGS)
def test_a_test_send_to_metadata_with_a_zone_id_is_refused_without_sending(aws, lambda_context, host, kind):
    event = load_event("admin_test_webhook")
    event["body"] = json.dumps({"url": f"http://{host}/latest/meta-data/"})
    response = admin.lambda_handler(event, lambda_context)
    assert response["statusCode"] in (200, 422)
    body = json.loads(response["body"])
    assert body.get("reason", body.get("code")) == "blocked_target"


def test_notifier_checks_a_url_saved_before_the_rules_changed(aws, lambda_context, monkeypatch, receiver):
    # Given a loopback URL saved while private targets were allowed
    aws.ssm.put_parameter(Name=notifier.config.webhook_url_parameter, Value=receiver.url, Type="SecureString")
    # When the deployment no longer allows them
    strict(notifier, monkeypatch, allow_http_targets=True)
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    # Then nothing is sent and the notification is dead-lettered as blocked
    assert receiver.received == []
    assert aws.dead_letters()[0]["reason"] == "blocked_target"


def test_notifier_dead_letters_a_name_that_now_resolves_to_metadata(aws, lambda_context, fake_dns, monkeypatch):
    fake_dns.table["hooks.example.com"] = ["169.254.169.254"]
    monkeypatch.setattr(
        notifier, "config", dataclasses.replace(notifier.config, webhook_url_env="http://hooks.example.com/x")
    )
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    assert aws.dead_letters()[0]["reason"] == "blocked_target"


def test_delivery_connects_to_the_checked_address_with_no_second_lookup(
    aws, lambda_context, receiver, fake_dns, monkeypatch
):
    # Given a name that answers loopback once, then (a rebinding attack) the metadata address
    fake_dns.table["rebind.example.com"] = ["127.0.0.1", "169.254.169.254"]
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    url = f"http://rebind.example.com:{port}/hook"
    monkeypatch.setattr(notifier, "config", dataclasses.replace(notifier.config, webhook_url_env=url))
    # When a new user is notified
    notifier.lambda_handler(load_event("notifier_new_user"), lambda_context)
    # Then the name was looked up once, the request reached the checked address, with the name as its Host
    [request] = receiver.wait_for(1)
    assert fake_dns.lookups == ["rebind.example.com"]
    assert request.headers["Host"] == f"rebind.example.com:{port}"
    assert aws.dead_letters() == []
