"""SSM Parameter Store calls for the webhook settings: read several parameters in one call, read every document under
a path, write one settings document, delete a parameter. Each returns plain values and turns botocore's errors
into StorageUnavailable.

A settings document is a flat JSON object of strings (or nulls). Parameter Store refuses a value that holds
`{{ ... }}` (its syntax for nesting a parameter), which a message template may contain (`{{` is how a template
writes a literal brace). So every brace inside a string is written as the JSON escape `\\u007b` / `\\u007d`: the
only literal braces left are the object's own, and any JSON reader gets the text back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks import aws
from signup_hooks.errors import StorageUnavailable

# One document can pass the Standard tier's 4 KB (a long template, a long header value): Intelligent-Tiering stores
# it as Standard while it fits and as Advanced only when it must.
TIER = "Intelligent-Tiering"
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
        raise StorageUnavailable(f"SSM could not be read: {error_code(exc)}") from exc
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
        raise StorageUnavailable(f"SSM could not be read: {error_code(exc)}") from exc
    raise StorageUnavailable(f"more than {MAX_PATH_PAGES} pages of parameters under {path}")


def write_document(name: str, fields: Mapping[str, str | None], description: str, *, new: bool = False) -> None:
    """One PutParameter (SecureString): the whole document is stored, or nothing is. `new`: refuse to replace an
    existing document (FileExistsError), so that two creations can never share an id."""
    try:
        aws.client("ssm").put_parameter(
            Name=name,
            Value=encode_document(fields),
            Type="SecureString",
            Overwrite=not new,
            Tier=TIER,
            Description=description,
        )
    except ClientError as exc:
        if new and error_code(exc) == "ParameterAlreadyExists":
            raise FileExistsError(name) from None
        raise StorageUnavailable(f"SSM refused the write: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"SSM refused the write: {error_code(exc)}") from exc


def delete(name: str) -> None:
    """Delete a parameter; one that does not exist is not an error."""
    try:
        aws.client("ssm").delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise StorageUnavailable(f"SSM refused the delete: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"SSM could not be reached: {error_code(exc)}") from exc


def encode_document(fields: Mapping[str, str | None]) -> str:
    """JSON with every brace inside a string escaped, so that the value never holds `{{` or `}}`."""
    for key, value in fields.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise TypeError("a settings document is a flat object of strings")
    text = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    # Only the outer braces are structural: keys and values are strings, whose braces are data.
    inner = text[1:-1].replace("{", "\\u007b").replace("}", "\\u007d")
    return "{" + inner + "}"


def decode_document(text: str) -> dict[str, str | None]:
    """The fields of a document; ValueError when it is not a flat JSON object of strings."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a settings document is a JSON object")
    return {str(key): value if isinstance(value, str) else None for key, value in data.items()}


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
