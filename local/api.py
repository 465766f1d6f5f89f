"""API Gateway (HTTP API) on loopback: routes from the template, payload 2.0 events, Lambda authorizers.

Routes come from every function's `Events` of type HttpApi, so a route added to template.yaml is served
without a change here. What API Gateway itself answers is reproduced: 404 `Not Found` for an unknown route,
401 `Unauthorized` when an authorizer's identity source is missing (the authorizer is not invoked),
403 `Forbidden` when it says no, 413 above the 10 MB payload limit, 500 when a function fails.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.esm import Invocation
from local.quiet_server import QuietHTTPServer
from local.resolve import ACCOUNT_ID

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
API_ID = "local"

Invoke = Callable[[str, dict[str, Any]], Invocation]  # (function logical id, event)


@dataclass(frozen=True)
class Authorizer:
    name: str
    function_id: str
    identity_headers: list[str]
    simple_responses: bool = True


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or ANY
    path: str  # as in the template: /users/{id}, /files/{proxy+}
    function_id: str
    authorizer: Authorizer | None = None
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def discover_routes(template: dict[str, Any]) -> list[Route]:
    """Every HttpApi event of every function, with its authorizer (or the API's default one)."""
    resources = template["Resources"]
    routes = []
    for logical_id, resource in resources.items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {})
            api_id = props.get("ApiId", {}).get("Ref") if isinstance(props.get("ApiId"), dict) else None
            auth = resources.get(api_id, {}).get("Properties", {}).get("Auth", {}) if api_id else {}
            name = props.get("Auth", {}).get("Authorizer", auth.get("DefaultAuthorizer"))
            authorizer = _authorizer(auth, name) if name and name != "NONE" else None
            method = str(props.get("Method", "ANY")).upper()
            routes.append(Route(method, props.get("Path", "/{proxy+}"), logical_id, authorizer))
    # Most specific first, as API Gateway matches: literal paths before parameters, greedy paths last.
    return sorted(routes, key=lambda r: ("+}" in r.path, r.path.count("{"), r.method == "ANY", -len(r.path)))


def _authorizer(auth: dict[str, Any], name: str) -> Authorizer:
    spec = auth["Authorizers"][name]
    arn = spec.get("FunctionArn", {})
    function_id = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
    if not function_id or spec.get("AuthorizerPayloadFormatVersion", "2.0") != "2.0":
        raise ValueError(f"authorizer {name}: only payload 2.0 Lambda authorizers of this template run locally")
    headers = spec.get("Identity", {}).get("Headers", [])
    return Authorizer(name, function_id, headers, bool(spec.get("EnableSimpleResponses", False)))


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query string, as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message(status: int, message: str) -> Answer:
    body = json.dumps({"message": message}).encode()
    return Answer(status, [("Content-Type", "application/json")], body)


class Gateway:
    """Turns a request into a payload 2.0 event for the route's function, and its result into an answer."""

    def __init__(self, routes: list[Route], invoke: Invoke, domain: str = "127.0.0.1") -> None:
        self.routes = routes
        self._invoke = invoke
        self._domain = domain

    def handle(self, request: Request) -> Answer:
        request_id = base64.b64encode(secrets.token_bytes(12)).decode().rstrip("=")
        answer = self._handle(request, request_id)
        return Answer(answer.status, [*answer.headers, ("apigw-requestid", request_id)], answer.body)

    def _handle(self, request: Request, request_id: str) -> Answer:
        parts = urlsplit(request.target)
        for route in self.routes:
            path_parameters = route.match(request.method, parts.path)
            if path_parameters is not None:
                break
        else:
            return _message(404, "Not Found")
        event = self._event(request, route, path_parameters, request_id)
        if route.authorizer:
            refused = self._authorize(route.authorizer, event)
            if refused:
                return refused
        result = self._invoke(route.function_id, event)
        if result.error:
            return _message(500, "Internal Server Error")
        return _answer(result.payload)

    def _event(
        self, request: Request, route: Route, path_parameters: dict[str, str], request_id: str
    ) -> dict[str, Any]:
        parts = urlsplit(request.target)
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            if name.lower() == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            else:
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        try:
            body, encoded = request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode(), True
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": parts.path,
            "rawQueryString": parts.query,
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "domainName": self._domain,
                "domainPrefix": self._domain.split(".")[0],
                "http": {
                    "method": request.method,
                    "path": parts.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": encoded,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if request.body:
            event["body"] = body
        return event

    def _authorize(self, authorizer: Authorizer, event: dict[str, Any]) -> Answer | None:
        identity = [event["headers"].get(name.lower(), "") for name in authorizer.identity_headers]
        if not all(identity):
            return _message(401, "Unauthorized")  # API Gateway answers without invoking the authorizer
        method, path = event["requestContext"]["http"]["method"], event["rawPath"]
        request = {
            **{k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")},
            "type": "REQUEST",
            "routeArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{API_ID}/$default/{method}{path}",
            "identitySource": identity,
        }
        result = self._invoke(authorizer.function_id, request)
        if result.error or not isinstance(result.payload, dict) or "isAuthorized" not in result.payload:
            return _message(500, "Internal Server Error")
        if result.payload["isAuthorized"] is not True:
            return _message(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": result.payload.get("context") or {}}
        return None


def _answer(payload: Any) -> Answer:
    """A payload 2.0 function result as API Gateway turns it into an HTTP answer."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return Answer(200, [("Content-Type", "application/json")], body.encode())
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in payload.get("cookies") or [])
    raw = payload.get("body") or ""
    body = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    return Answer(int(payload["statusCode"]), headers, body)


class PortInUse(Exception):
    """The port is taken by another program."""


class ClientGone(Exception):
    """The client closed the connection before its request was whole."""


LocalRoute = Callable[[Request], Answer]  # a route of the local stack itself, served before the gateway's


class ApiServer:
    """The gateway behind a threaded HTTP server on loopback. Binds at construction, so a busy port fails early."""

    def __init__(self, gateway: Gateway | None, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.gateway = gateway
        self.local_routes: dict[str, LocalRoute] = {}  # path -> handler, for the local stack's own routes
        self.on_answer: Callable[[str, str, int], None] | None = None  # (method, path, status): an access log
        try:
            self._server = QuietHTTPServer((host, port), self._handler())
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.host, self.port = host, int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                try:
                    answer = self._answer()
                except ClientGone:
                    self.close_connection = True  # nobody is left to answer, and the function never ran
                    return
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
                if server.on_answer:
                    server.on_answer(self.command, urlsplit(self.path).path, answer.status)

            def _answer(self) -> Answer:
                try:
                    body = self._read_body()
                except ValueError:  # a Content-Length or chunk size that is not a number
                    self.close_connection = True
                    return _message(400, "Bad Request")
                if body is None:
                    self.close_connection = True
                    return _message(413, "Request Entity Too Large")
                request = Request(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
                local_route = server.local_routes.get(urlsplit(self.path).path)
                if local_route:
                    return local_route(request)
                if server.gateway is None:
                    return _message(503, "Service Unavailable")
                return server.gateway.handle(request)

            def _read_body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    return self._read_chunked()
                length = _content_length(self.headers.get("Content-Length"))
                if length <= MAX_BODY_BYTES:
                    return self._read(length)
                # Too large: read (a bounded amount of) it anyway, so the client gets the 413 rather than a reset.
                left = min(length, 4 * MAX_BODY_BYTES)
                while left > 0 and (chunk := self.rfile.read(min(left, 1 << 16))):
                    left -= len(chunk)
                return None

            def _read_chunked(self) -> bytes | None:
                chunks, total = [], 0
                while size := _chunk_size(self._line()):
                    total += size
                    if total > MAX_BODY_BYTES:
                        return None
                    chunks.append(self._read(size))
                    self._line()
                while self._line().strip():  # trailers
                    pass
                return b"".join(chunks)

            def _read(self, size: int) -> bytes:
                data = self.rfile.read(size)
                if len(data) < size:
                    raise ClientGone
                return data

            def _line(self) -> bytes:
                line = self.rfile.readline(1 << 16)
                if not line.endswith(b"\n"):
                    raise ClientGone
                return line

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass  # the functions' own log lines say what happened

        return Handler


# What HTTP allows, as API Gateway reads it: int() would also take '+5', ' 5', '1_0' and, in hex, '0x1f'.
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _content_length(value: str | None) -> int:
    """A Content-Length header as a number of bytes (0 when absent); ValueError when it is not ASCII digits."""
    if value is None or value == "":
        return 0
    if not _DIGITS.fullmatch(value):
        raise ValueError("Content-Length is not a number")
    return int(value)


def _chunk_size(line: bytes) -> int:
    """A chunk's size line (extensions after ';' ignored); ValueError when it is not hex digits."""
    size = line.split(b";")[0].strip() or b"0"
    if not _HEX_DIGITS.fullmatch(size):
        raise ValueError("chunk size is not a hex number")
    return int(size, 16)
