"""The OpenAPI document (admin/openapi.py): a valid OpenAPI 3.1 description whose operations are exactly the HTTP API's
routes in template.yaml, so that a route added without describing it fails here."""

from __future__ import annotations

import json

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
from signup_hooks.admin import openapi, redrive, send_a_test

from tests.unit.test_sample_events import ROUTES

METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def described_routes() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in openapi.document()["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_document_is_a_valid_openapi_3_1_description() -> None:
    # Given the document as served
    served = json.loads(openapi.document_json())
    # Then it says 3.1 and the OpenAPI 3.1 validator finds nothing wrong (schemas, $refs, parameters)
    assert served["openapi"].startswith("3.1.")
    validate(served, cls=OpenAPIV31SpecValidator)


def test_its_operations_are_exactly_the_templates_http_api_routes() -> None:
    # Given every HttpApi route of template.yaml (method and path, with its {param}s)
    routes = {route.key for route in ROUTES}
    # Then the document describes each one and nothing else
    described = described_routes()
    assert sorted(routes - described) == [], "describe the new route in layers/shared/signup_hooks/admin/openapi.py"
    assert sorted(described - routes) == []


def test_admin_routes_need_the_bearer_token_exactly_where_the_authorizer_runs() -> None:
    # Given each route, and whether the template puts the authorizer before it
    document = openapi.document()
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        # Then the document asks for the token where the authorizer runs, with its 401 and 403, and not elsewhere
        assert operation["security"] == ([{"adminToken": []}] if route.authorized else []), route.key
        gateway = {code for code in ("401", "403") if code in operation["responses"]}
        assert gateway == ({"401", "403"} if route.authorized else set()), route.key


def test_the_redrive_and_test_send_bodies_have_the_bounds_their_routes_check() -> None:
    # Given the bodies whose bounds the document writes out (it does not import the delivery code)
    schemas = openapi.document()["components"]["schemas"]
    # Then they are redrive.py's and send_a_test.py's
    assert schemas["Redrive"]["properties"]["max_messages"]["maximum"] == redrive.MAX_MESSAGES_PER_CALL
    assert schemas["Redrive"]["description"] == f"optional, at most {redrive.MAX_BODY_BYTES} bytes"
    assert schemas["TestSend"]["description"].startswith(f"optional, at most {send_a_test.MAX_BODY_BYTES} bytes:")
