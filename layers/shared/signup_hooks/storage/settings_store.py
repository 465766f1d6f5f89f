"""SSM Parameter Store, where each endpoint's settings document lives (settings.py says what a document holds): read
several parameters in one call, read every document under a path, write one document, delete a parameter. Each
turns botocore's errors into StorageUnavailable.

Reads go through one per-process cache (settings_cache.py), so a batch's delivery threads share one SSM call; a
write or a delete drops what the cache holds. `load` and `read_documents` are what the rest of the package calls.

A settings document is a flat JSON object of strings (or nulls). Parameter Store refuses a value that holds
`{{ ... }}` (its syntax for nesting a parameter), which a message template may contain (`{{` is how a template
writes a literal brace). So every brace inside a string is written as the JSON escape `\\u007b` / `\\u007d`: the
only literal braces left are the object's own, and any JSON reader gets the text back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.endpoints import settings
from signup_hooks.errors import InvalidInput, StorageUnavailable
from signup_hooks.storage import aws
from signup_hooks.storage.settings_cache import SettingsReader

logger = Logger(child=True)

# One document can pass the Standard tier's 4 KB (a long template, a long header value): Intelligent-Tiering stores
# it as Standard while it fits and as Advanced only when it must.
TIER = "Intelligent-Tiering"
# Parameter Store's largest value is 8 KB, in the Advanced tier, where Intelligent-Tiering moves a document that
# passes the Standard tier's 4 KB. A document is measured as stored: each escaped brace takes six bytes.
MAX_DOCUMENT_BYTES = 8 * 1024
# The admin API's field that each stored field comes from (the rest are named alike).
API_FIELDS = {
    "custom_header_name": "custom_header",
    "custom_header_value": "custom_header",
    "signing_secret_previous": "signing_secret",
    "signing_secret_previous_until": "signing_secret",
    "credentials_origin": "url",
}
MAX_NAMES_PER_READ = 10  # GetParameters' limit
# Pages of GetParametersByPath read at most: 11 endpoints fit in 2; the rest is room for parameters put there by hand.
MAX_PATH_PAGES = 5


def read(names: Sequence[str]) -> dict[str, str]:
    """The decrypted value of each parameter that exists, in one GetParameters call. A missing name is absent."""
    wanted = list(dict.fromkeys(name for name in names if name))
    if not wanted:
        return {}
    if len(wanted) > MAX_NAMES_PER_READ:
        raise ValueError(f"at most {MAX_NAMES_PER_READ} parameters per read")
    try:
        response = aws.client("ssm").get_parameters(Names=wanted, WithDecryption=True)
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM could not be read: {aws.error_code(exc)}") from exc
    return {str(item["Name"]): str(item.get("Value", "")) for item in response.get("Parameters", [])}


def read_path(path: str) -> dict[str, str]:
    """The decrypted value of every parameter directly under `path` (GetParametersByPath, 10 a page), by name."""
    values: dict[str, str] = {}
    request: dict[str, object] = {"Path": path, "Recursive": False, "WithDecryption": True, "MaxResults": 10}
    try:
        for _page in range(MAX_PATH_PAGES):
            response = aws.client("ssm").get_parameters_by_path(**request)
            values.update({str(item["Name"]): str(item.get("Value", "")) for item in response.get("Parameters", [])})
            if not response.get("NextToken"):
                return values
            request["NextToken"] = response["NextToken"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM could not be read: {aws.error_code(exc)}") from exc
    raise StorageUnavailable(f"more than {MAX_PATH_PAGES} pages of parameters under {path}")


def write_document(name: str, fields: Mapping[str, str | None], description: str, *, new: bool = False) -> int:
    """One PutParameter (SecureString): the whole document is stored, or nothing is; its new version (1: the
    parameter did not exist). `new`: refuse to replace an existing document (FileExistsError), so that two creations
    can never share an id. A document Parameter Store would refuse as too large is InvalidInput, and not written."""
    value = encode_document(fields)
    check_size(fields, value)
    try:
        answer = aws.client("ssm").put_parameter(
            Name=name,
            Value=value,
            Type="SecureString",
            Overwrite=not new,
            Tier=TIER,
            Description=description,
        )
    except ClientError as exc:
        if new and aws.error_code(exc) == "ParameterAlreadyExists":
            raise FileExistsError(name) from None
        raise StorageUnavailable(f"SSM refused the write: {aws.error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"SSM refused the write: {aws.error_code(exc)}") from exc
    return int(answer.get("Version", 0))


def delete(name: str) -> None:
    """Delete a parameter; one that does not exist is not an error."""
    try:
        aws.client("ssm").delete_parameter(Name=name)
    except ClientError as exc:
        if aws.error_code(exc) != "ParameterNotFound":
            raise StorageUnavailable(f"SSM refused the delete: {aws.error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"SSM could not be reached: {aws.error_code(exc)}") from exc


_cache = SettingsReader(fetch=lambda names: read(names))


def load(
    names: settings.SettingsNames, environment_url: str, max_age: float, *, stale_ok: bool = True
) -> settings.Snapshot:
    """One endpoint's stored settings, from its document or else the older parameters. Raises StorageUnavailable."""
    return settings.parse(_cache.read(names.all(), max_age, stale_ok), names, environment_url)


def read_documents(
    path: str, default_document: str, legacy: tuple[str, ...], max_age: float, stale_ok: bool = True
) -> dict[str, str]:
    """Every document under `path` by name (one GetParametersByPath) and, while the default endpoint has no
    document, the older parameters (one GetParameters), through the cache. Raises StorageUnavailable."""

    def fetch() -> dict[str, str]:
        values = read_path(path)
        if default_document not in values and legacy:
            values.update(read(legacy))
        return values

    return _cache.read((path + "/*", *legacy), max_age, stale_ok, fetch)


def read_for_change(names: settings.SettingsNames, environment_url: str) -> tuple[settings.Snapshot, int | None]:
    """One endpoint's stored settings read afresh for a change (one GetParameters, no cache), with the version of
    the document they came from (None: it does not exist): the change's write must be the very next version."""
    wanted = list(names.all())
    try:
        response = aws.client("ssm").get_parameters(Names=wanted, WithDecryption=True)
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM could not be read: {aws.error_code(exc)}") from exc
    found = response.get("Parameters", [])
    values = {str(item["Name"]): str(item.get("Value", "")) for item in found}
    versions = [int(item["Version"]) for item in found if item["Name"] == names.document and "Version" in item]
    return settings.parse(values, names, environment_url), (versions[0] if versions else None)


def restore(names: settings.SettingsNames, version: int) -> None:
    """Write version `version` of the document again, as it was stored: a write that came too late is taken back."""
    selector = f"{names.document}:{version}"
    try:
        response = aws.client("ssm").get_parameters(Names=[selector], WithDecryption=True)
        earlier = response.get("Parameters", [])
        if not earlier:
            raise StorageUnavailable(f"version {version} of the settings document is gone")
        aws.client("ssm").put_parameter(
            Name=names.document, Value=str(earlier[0]["Value"]), Type="SecureString", Overwrite=True, Tier=TIER
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"SSM could not restore the settings: {aws.error_code(exc)}") from exc
    finally:
        _cache.forget()


def save(names: settings.SettingsNames, stored: settings.StoredSettings, *, new: bool = False) -> int:
    """One write of the whole document; its new version. Raises StorageUnavailable, and then nothing has changed;
    with `new`, FileExistsError when the document exists already."""
    description = f"Signup webhook settings of endpoint {names.endpoint_id}, set through the admin API"
    version = write_document(names.document, stored.to_fields(), description, new=new)
    _cache.forget()  # every cached read that holds this document: its own and the read of all endpoints
    return version


def delete_settings(names: settings.SettingsNames) -> None:
    """Delete an endpoint's document (and, for the default endpoint, the older parameters)."""
    delete(names.document)
    _cache.forget()
    remove_legacy(names)


def remove_legacy(names: settings.SettingsNames) -> None:
    """Delete the older parameters once the document holds their values. Best effort: the document wins anyway."""
    for name in names.legacy.names():
        try:
            delete(name)
        except StorageUnavailable as exc:
            logger.warning(
                "an older settings parameter could not be deleted", extra={"parameter": name, "error": str(exc)}
            )
    _cache.forget(names.all())


def forget_last_good() -> None:
    """Drop the cached and remembered settings (tests; a new execution environment starts without them)."""
    _cache.forget()


def check_size(fields: Mapping[str, str | None], stored: str) -> None:
    """InvalidInput naming the admin API's field that takes the most room, when `stored` (the encoded document) is
    past MAX_DOCUMENT_BYTES: on AWS, PutParameter would refuse it, and every later save of the endpoint with it."""
    size = len(stored.encode("utf-8"))
    if size <= MAX_DOCUMENT_BYTES:
        return
    room: dict[str, int] = {}
    for key, value in fields.items():
        field = API_FIELDS.get(key, key)
        room[field] = room.get(field, 0) + len(encode_document({key: value}).encode("utf-8"))
    largest = max(room, key=lambda field: room[field])
    raise InvalidInput(
        largest,
        f"the settings would take {size} bytes as stored, past Parameter Store's {MAX_DOCUMENT_BYTES}; {largest} "
        "takes the most (each brace is stored as 6 bytes): shorten it",
        code="too_large",
    )


def encode_document(fields: Mapping[str, str | None]) -> str:
    """JSON with every brace inside a string escaped, so that the value never holds `{{` or `}}`."""
    for key, value in fields.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise TypeError("a settings document is a flat object of strings")
    text = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    # Only the outer braces are structural: keys and values are strings, whose braces are data.
    inner = text[1:-1].replace("{", "\\u007b").replace("}", "\\u007d")
    return "{" + inner + "}"
