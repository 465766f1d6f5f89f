"""The local API Gateway: routes from the template, and what API Gateway answers before any function runs."""

from __future__ import annotations

import json
from typing import Any

from local.api import Gateway, Request, discover_routes
from local.esm import Invocation
from local.template import load_template


class FakeFunctions:
    def __init__(self, authorized: bool = True) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._authorized = authorized

    def __call__(self, function_id: str, event: dict[str, Any]) -> Invocation:
        self.events.append((function_id, event))
        if function_id == "AuthorizerFunction":
            return Invocation(payload={"isAuthorized": self._authorized})
        return Invocation(payload={"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"})


def request(method: str, target: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Request:
    return Request(method, target, headers or [], body)


def test_every_http_api_event_of_the_template_is_a_route() -> None:
    template = load_template()
    expected = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id)
        for logical_id, resource in template["Resources"].items()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }

    routes = discover_routes(template)

    assert {(r.method, r.path, r.function_id) for r in routes} == expected
    admin_api = [r for r in routes if r.path.startswith("/api/v1/admin/") and r.path != "/api/v1/admin/openapi.json"]
    assert all(r.authorizer and r.authorizer.function_id == "AuthorizerFunction" for r in admin_api)
    assert all(r.authorizer is None for r in routes if r.path == "/api/v1/admin/openapi.json")  # public: no data
    assert all(r.authorizer is None for r in routes if r.path == "/admin" or r.path.startswith("/admin/"))  # the page
    assert all(r.authorizer is None for r in routes if "/auths/" in r.path)


def test_a_request_becomes_a_payload_2_event_for_the_routes_function() -> None:
    functions = FakeFunctions()
    gateway = Gateway(discover_routes(load_template()), functions)

    headers = [("Content-Type", "application/json"), ("Cookie", "c=1")]
    answer = gateway.handle(request("POST", "/api/v1/auths/signup?a=1&a=2", headers, b"{}"))

    assert answer.status == 200
    ((function_id, event),) = functions.events
    assert function_id == "SignupFunction"
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/v1/auths/signup"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == "{}" and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST"


def test_an_admin_route_without_authorization_is_401_and_the_authorizer_is_not_invoked() -> None:
    functions = FakeFunctions()
    gateway = Gateway(discover_routes(load_template()), functions)

    answer = gateway.handle(request("GET", "/api/v1/admin/webhook"))

    assert (answer.status, json.loads(answer.body)) == (401, {"message": "Unauthorized"})
    assert functions.events == []


def test_an_authorizer_saying_no_is_403_and_the_route_is_not_invoked() -> None:
    functions = FakeFunctions(authorized=False)
    gateway = Gateway(discover_routes(load_template()), functions)

    answer = gateway.handle(request("GET", "/api/v1/admin/webhook", [("Authorization", "Bearer wrong")]))

    assert (answer.status, json.loads(answer.body)) == (403, {"message": "Forbidden"})
    assert [function_id for function_id, _ in functions.events] == ["AuthorizerFunction"]
    authorizer_event = functions.events[0][1]
    assert authorizer_event["type"] == "REQUEST"
    assert authorizer_event["identitySource"] == ["Bearer wrong"]


def test_a_function_error_is_api_gateways_500() -> None:
    gateway = Gateway(discover_routes(load_template()), lambda _f, _e: Invocation(error="Unhandled"))

    answer = gateway.handle(request("POST", "/api/v1/auths/signup", body=b"{}"))

    assert (answer.status, json.loads(answer.body)) == (500, {"message": "Internal Server Error"})
