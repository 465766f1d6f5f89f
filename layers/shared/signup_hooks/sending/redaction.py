"""Keeping an endpoint's credentials out of what its receiver answered: a receiver may quote them back ("invalid
api key sk_..."), and the start of its answer (the excerpt) reaches dead letters, log lines and the admin's answers.

The credentials of a notification are the custom header's value, each signing secret (and its key part after
`whsec_`), and the URL's path and query (Slack, Discord and Google Chat URLs embed their tokens there), with each
long path segment or query value on its own. Each is replaced as it is and as a JSON string would escape it
(quotes, backslashes, and `\\/` for a slash, as some receivers write it); the start of one cut off where the
answer's read stopped is replaced too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from signup_hooks.sending.signing import SECRET_PREFIX

REDACTED = "[redacted]"
MIN_CREDENTIAL_CHARS = 4  # shorter values ("/", "1") cannot be told apart from ordinary text
MIN_TOKEN_CHARS = 16  # a path segment or query value this long is a token in itself
MIN_CUT_CHARS = 8  # the start of a credential at the end of what was read, at least this long, is replaced
_QUERY_PARTS = re.compile(r"[&=;]")
NOT_CREDENTIALS = frozenset({"content-type"})  # the headers prepare.py sets that carry no secret


def credentials(url: str, headers: Mapping[str, str], signing_secrets: Iterable[str]) -> tuple[str, ...]:
    """Every value a receiver must not get quoted back from us: header values (but Content-Type), signing secrets,
    and the URL's path and query."""
    found = [value for name, value in headers.items() if name.lower() not in NOT_CREDENTIALS]
    for secret in signing_secrets:
        found += [secret, secret.removeprefix(SECRET_PREFIX)]
    parts = urlsplit(url)
    found += [parts.path, parts.query]
    tokens = parts.path.split("/") + _QUERY_PARTS.split(parts.query)
    found += [token for token in tokens if len(token) >= MIN_TOKEN_CHARS]
    return tuple(value for value in dict.fromkeys(found) if len(value) >= MIN_CREDENTIAL_CHARS and value != "/")


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with every one of `values` (and its JSON-escaped forms) replaced by [redacted], longest first."""
    forms = sorted({form for value in values for form in _forms(value)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    for form in forms:  # the answer was read up to a limit: a credential may be cut short at its end
        for size in range(len(form) - 1, MIN_CUT_CHARS - 1, -1):
            if text.endswith(form[:size]):
                return text[:-size] + REDACTED
    return text


def _forms(value: str) -> set[str]:
    escaped = json.dumps(value)[1:-1]
    return {value, escaped, escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]}
