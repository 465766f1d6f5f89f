"""Fault injection: make a share of the functions' AWS calls fail as AWS fails under throttling.

`POST /_local/faults {"ssm": 1.0, "sqs": 0.2}` on the local API's port sets the shares (a missing service: 0),
`GET` shows the shares in force, `DELETE` clears them. The local stack only: template.yaml knows nothing of it.

Only the functions see the faults. Their AWS_ENDPOINT_URL is a second server in the stack's process, in front of
moto's own WSGI app; moto keeps its state in process-global backends, so both endpoints see the same tables, queues
and parameters. The stack's own clients (resources, the stream poller, the OnFailure destination) and the tests'
clients talk to moto directly and never fail. The service comes from the SigV4 credential scope every botocore call
carries (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
"""

from __future__ import annotations

import json
import math
import random
import threading
import uuid
import zlib
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local.api import Answer, Request
from local.sigv4 import service_of

SERVICES = ("ssm", "sqs", "dynamodb", "secretsmanager")
ROUTE = "/_local/faults"

# Each service's throttling answer, in the JSON protocol botocore speaks to it today, so that botocore raises a
# ClientError with the code AWS sends (and retries it as a throttling error, as it would on AWS). SQS speaks JSON
# with query-compatible error codes: botocore takes the code from the x-amzn-query-error header, and its retry
# rules know SQS throttling as RequestThrottled with status 403.
_THROTTLED: dict[str, tuple[int, str, str, str, dict[str, str]]] = {
    "ssm": (400, "1.1", "ThrottlingException", "Rate exceeded", {}),
    "secretsmanager": (400, "1.1", "ThrottlingException", "Rate exceeded", {}),
    "dynamodb": (
        400,
        "1.0",
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
        {},
    ),
    "sqs": (
        403,
        "1.0",
        "com.amazonaws.sqs#RequestThrottled",
        "Request is throttled.",
        {"x-amzn-query-error": "RequestThrottled;Sender"},
    ),
}


class InvalidFaults(ValueError):
    """A body the fault route refuses; `field` names the offending key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Faults:
    """The shares in force, read by every call the functions make; safe across threads."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._shares = dict.fromkeys(SERVICES, 0.0)
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not a secret

    def shares(self) -> dict[str, float]:
        with self._lock:
            return dict(self._shares)

    def set(self, shares: dict[str, float]) -> None:
        with self._lock:
            self._shares = {service: float(shares.get(service, 0.0)) for service in SERVICES}

    def clear(self) -> None:
        self.set({})

    def fails(self, service: str) -> bool:
        with self._lock:
            share = self._shares.get(service, 0.0)
            return share > 0 and self._random.random() < share


def parse_shares(body: bytes) -> dict[str, float]:
    """The route's body as shares per service; InvalidFaults names what is wrong."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise InvalidFaults("the body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidFaults('the body must be a JSON object such as {"ssm": 0.5}')
    shares = {}
    for key, value in data.items():
        if key not in SERVICES:
            raise InvalidFaults(f"unknown service; use {', '.join(SERVICES)}", str(key)[:64])
        number_like = isinstance(value, int | float) and not isinstance(value, bool)
        if not number_like or not math.isfinite(value) or not 0 <= value <= 1:
            raise InvalidFaults("a share is a number from 0 to 1", key)
        shares[key] = float(value)
    return shares


def route(faults: Faults, request: Request) -> Answer:
    """`/_local/faults`: GET the shares in force, POST new ones, DELETE them."""
    if request.method == "POST":
        try:
            faults.set(parse_shares(request.body))
        except InvalidFaults as exc:
            status, code = (422, "invalid_fault") if exc.field else (400, "invalid_json")
            body: dict[str, Any] = {"detail": str(exc), "code": code}
            if exc.field:
                body["field"] = exc.field
            return _json(status, body)
    elif request.method == "DELETE":
        faults.clear()
    elif request.method != "GET":
        return _json(405, {"detail": "use GET, POST or DELETE", "code": "method_not_allowed"})
    return _json(200, faults.shares())


def _json(status: int, body: dict[str, Any]) -> Answer:
    return Answer(status, [("Content-Type", "application/json")], json.dumps(body).encode())


def throttled(service: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """What `service` answers a throttled call: status, headers and body."""
    status, version, error_type, message, extra = _THROTTLED[service]
    body = json.dumps({"__type": error_type, "message": message}).encode()
    headers = [
        ("Content-Type", f"application/x-amz-json-{version}"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        *extra.items(),
    ]
    if service == "dynamodb":
        headers.append(("x-amz-crc32", str(zlib.crc32(body))))  # DynamoDB sends it and botocore checks it
    return status, headers, body


class FaultyEndpoint:
    """A WSGI middleware: a call to a service with a share in force fails at that rate, the rest reach moto."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self._app = app
        self._faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        service = service_of(environ.get("HTTP_AUTHORIZATION", ""))
        if service not in _THROTTLED or not self._faults.fails(service):
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > 0:
            environ["wsgi.input"].read(length)  # consumed, so that the connection can carry the next call
        status, headers, body = throttled(service)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]


class FaultyServer:
    """The functions' AWS endpoint: moto's app behind FaultyEndpoint, on its own loopback port."""

    def __init__(self, faults: Faults, host: str = "127.0.0.1") -> None:
        app = FaultyEndpoint(DomainDispatcherApplication(create_backend_app), faults)
        self._server: BaseWSGIServer = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="faulty-aws", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> FaultyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
