"""events/ holds a sample event for every API route of template.yaml: the HTTP API (payload 2.0) event that route
hands its function, as `make invoke`, `sam local invoke -e` and the tests load it. The routes come from the template,
so a route added without a sample fails here."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from local.template import ROOT, load_template

EVENTS = ROOT / "events"
TEMPLATE = load_template()


class Route(NamedTuple):
    function_id: str
    method: str
    path: str  # as the template writes it, e.g. /api/v1/admin/webhooks/{id}
    authorized: bool  # whether the token authorizer runs before it

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def api_routes() -> list[Route]:
    routes = []
    for function_id, body in TEMPLATE["Resources"].items():
        if body["Type"] != "AWS::Serverless::Function":
            continue
        for event in body["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes.append(Route(function_id, props["Method"], props["Path"], "Auth" in props))
    return routes


def function_of(stem: str) -> str:
    """events/<function>_<case>.json belongs to <Function>Function (admin_get_webhook to AdminFunction)."""
    return stem.split("_", 1)[0].capitalize() + "Function"


ROUTES = api_routes()
SAMPLES: dict[str, dict[str, Any]] = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(EVENTS.glob("*.json"))
    if path.name != "env.json"
}
# The events of functions that API routes invoke (the authorizer's events carry a routeKey too, but no route is its own)
API_SAMPLES = {stem: event for stem, event in SAMPLES.items() if function_of(stem) in {r.function_id for r in ROUTES}}


def test_every_api_route_of_the_template_has_a_sample_event_for_its_function() -> None:
    # Given every HttpApi route of every function in template.yaml
    assert ROUTES
    # Then each has a sample event of its own function whose route is that route
    covered = {(function_of(stem), event["routeKey"]) for stem, event in API_SAMPLES.items()}
    missing = [f"{route.function_id}: {route.key}" for route in ROUTES if (route.function_id, route.key) not in covered]
    assert missing == [], "add events/<function>_<case>.json for each (copy a sibling and change the route)"


@pytest.mark.parametrize("stem", list(API_SAMPLES))
def test_each_api_sample_is_the_event_its_route_hands_its_function(stem: str) -> None:
    # Given an API sample event
    event = API_SAMPLES[stem]
    context = event["requestContext"]
    # Then its route is one of its function's routes in the template
    routes = {route.key: route for route in ROUTES if route.function_id == function_of(stem)}
    assert event["routeKey"] in routes, f"{stem}: no route {event['routeKey']!r} for {function_of(stem)}"
    route = routes[event["routeKey"]]
    # And its method, path and path parameters say the same thing as the route key
    assert event["version"] == "2.0"
    assert context["routeKey"] == event["routeKey"]
    assert context["http"]["method"] == route.method
    assert context["http"]["path"] == event["rawPath"]
    assert event["rawPath"] == route.path.format(**event.get("pathParameters", {}))
    # And it carries the authorizer's context and the admin token exactly where the authorizer runs
    assert ("authorizer" in context) == route.authorized
    assert event["headers"].get("authorization", "").startswith("Bearer ") == route.authorized
