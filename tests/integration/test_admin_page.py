"""GET /admin, /admin/app.js (and the modules it imports, /admin/js/<name>), /admin/app.css: the settings page,
static and locked down by its headers."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from signup_hooks.admin import page
from signup_hooks.model.delivery_log import Status, Trigger
from signup_hooks.model.health import Health
from signup_hooks.sending.http import Reason
from signup_hooks.sending.messages import PLACEHOLDERS

from functions.admin import app as admin
from tests.helpers import load_event

OPENAPI_PATH = "/api/v1/admin/openapi.json"  # the API's description, linked from the page's intro
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
ROUTES = [
    ("admin_page", "text/html; charset=utf-8"),
    ("admin_page_script", "text/javascript; charset=utf-8"),
    ("admin_page_script_module", "text/javascript; charset=utf-8"),
    ("admin_page_style", "text/css; charset=utf-8"),
]


def get(event_name: str, context: Any) -> dict[str, Any]:
    return admin.lambda_handler(load_event(event_name), context)


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in response["headers"].items()}


ENTRY = "/admin/app.js"
IMPORT = re.compile(r'^import\s[^;]*?\sfrom\s"([^"]+)";', re.MULTILINE | re.DOTALL)


def get_script(path: str, context: Any) -> dict[str, Any]:
    """GET of the entry script or of /admin/js/<name>, as API Gateway routes it."""
    if path == ENTRY:
        return get("admin_page_script", context)
    event = load_event("admin_page_script_module")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"name": path.removeprefix("/admin/js/")}
    return admin.lambda_handler(event, context)


def served_modules(context: Any) -> dict[str, dict[str, Any]]:
    """Every script the page runs: the entry and, transitively, each module it imports, by path, as served."""
    served: dict[str, dict[str, Any]] = {}
    waiting = [ENTRY]
    while waiting:
        path = waiting.pop()
        if path in served:
            continue
        served[path] = get_script(path, context)
        for specifier in IMPORT.findall(served[path]["body"]):
            # Relative and complete, as a browser resolves it without a build step or an import map
            assert specifier.startswith("./") and specifier.endswith(".js"), (path, specifier)
            waiting.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier)))
    return served


def whole_script(context: Any) -> str:
    return "\n".join(response["body"] for response in served_modules(context).values())


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and the text inside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside and data.strip():
            self.inline.append(data)


def parsed_page(context: Any) -> Tags:
    tags = Tags()
    tags.feed(get("admin_page", context)["body"])
    return tags


@pytest.mark.parametrize(("event_name", "content_type"), ROUTES)
def test_each_page_file_is_served_with_its_content_type(lambda_context, event_name, content_type):
    # When the route is requested without any token
    response = get(event_name, lambda_context)
    # Then it answers 200 with the file, typed so a browser does not have to guess
    assert response["statusCode"] == 200
    assert headers_of(response)["content-type"] == content_type
    assert response["body"].strip()
    assert not response.get("isBase64Encoded")


@pytest.mark.parametrize(("event_name", "content_type"), ROUTES)
def test_each_page_file_carries_the_security_headers(lambda_context, event_name, content_type):
    headers = headers_of(get(event_name, lambda_context))
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_the_page_loads_nothing_from_outside_and_inlines_no_script_or_style(lambda_context):
    # Given the page's markup
    tags = parsed_page(lambda_context)
    # Then scripts and styles come from this origin's own routes, and nothing is inline
    sources = [attrs.get("src") for tag, attrs in tags.tags if tag == "script"]
    assert [attrs.get("type") for tag, attrs in tags.tags if tag == "script"] == ["module"]  # one entry, it imports
    styles = [attrs.get("href") for tag, attrs in tags.tags if tag == "link" and attrs.get("rel") == "stylesheet"]
    assert sources == ["/admin/app.js"]
    assert styles == ["/admin/app.css"]
    assert tags.inline == []
    assert [tag for tag, _ in tags.tags if tag == "style"] == []
    assert [attrs for _, attrs in tags.tags if "style" in attrs or any(a.startswith("on") for a in attrs)] == []
    # And no absolute URL points elsewhere (href, src, action); the section links point into the page itself
    links = [v for _, attrs in tags.tags for k, v in attrs.items() if k in ("href", "src", "action") and v]
    ids = {attrs.get("id") for _, attrs in tags.tags}
    inside = [link for link in links if link.startswith("#")]
    assert inside and [link for link in inside if link.removeprefix("#") not in ids] == []
    assert [link for link in links if not link.startswith(("/admin/", "data:", "#"))] == [OPENAPI_PATH]


def test_every_module_the_entry_imports_is_served_as_javascript_with_the_security_headers(lambda_context):
    # Given the entry script and every module it imports, followed import by import
    served = served_modules(lambda_context)
    # Then each answers 200, typed as a browser requires of a module, locked down like the page
    for path, response in served.items():
        headers = headers_of(response)
        assert (response["statusCode"], headers["content-type"]) == (200, "text/javascript; charset=utf-8"), path
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert response["body"].strip(), path
    # And every module shipped is one the page imports (none left behind), each a section under ~250 lines
    shipped = {path.name for path in page.MODULES.glob("*.js")}
    assert {path.removeprefix("/admin/js/") for path in served if path != ENTRY} == shipped
    assert [path for path, response in served.items() if response["body"].count("\n") > 250] == []


NOT_MODULES = ["nope.js", "admin.js", "page.py", "..", "..%2Fpage.py", "%2e%2e%2fpage.py", "api.js.x"]


@pytest.mark.parametrize("name", NOT_MODULES)
def test_a_name_that_is_not_a_shipped_module_is_404(lambda_context, name):
    response = get_script(f"/admin/js/{name}", lambda_context)
    assert response["statusCode"] == 404
    assert "import" not in response["body"]
    assert headers_of(response)["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/admin/js/../page.py", "/admin/js/../../page.py", "/admin/js/", "/admin/js/a/api.js"]
)
def test_a_path_beyond_one_module_name_is_404(lambda_context, path):
    # A name is one path segment: anything else matches no route at all
    response = get_script(path, lambda_context)
    assert response["statusCode"] == 404
    assert "import" not in response["body"]


def test_the_modules_set_no_globals(lambda_context):
    # Modules have their own scope; nothing is hung on window for other scripts to reach
    script = whole_script(lambda_context)
    assert re.findall(r"(?:window|globalThis|self)\.\w+\s*=[^=]", script) == []


def test_every_field_has_a_label(lambda_context):
    tags = parsed_page(lambda_context)
    fields = [attrs["id"] for tag, attrs in tags.tags if tag in ("input", "select", "textarea")]
    labelled = {attrs.get("for") for tag, attrs in tags.tags if tag == "label"}
    assert fields
    assert [field for field in fields if field not in labelled] == []


def test_results_are_announced_and_errors_sit_next_to_their_fields(lambda_context):
    tags = parsed_page(lambda_context)
    ids = {attrs.get("id"): attrs for _, attrs in tags.tags}
    assert ids["preview"]["aria-live"] == "polite"
    # Each action's result region is a live region next to the buttons that describe themselves by it
    regions = {name for name, attrs in ids.items() if "result" in (attrs.get("class") or "").split()}
    assert {"token-result", "settings-result", "endpoint-form-result", "refresh-result", "redrive-result"} <= regions
    for name in regions:
        assert (ids[name]["role"], ids[name]["aria-live"]) == ("status", "polite"), name
    for button in ("save", "send-test", "clear", "endpoint-save", "refresh", "redrive", "replay-since"):
        assert (ids[button].get("aria-describedby") or "").endswith("-result"), button
    for field in ("url", "format", "message_template"):  # the fields the API names in {"field": ...}
        assert f"{field}-error" in ids
        assert f"{field}-error" in (ids[field].get("aria-describedby") or "")


def test_the_script_keeps_the_token_in_session_storage_and_the_authorization_header_only(lambda_context):
    script = whole_script(lambda_context)
    assert "sessionStorage" in script
    assert "localStorage" not in script
    assert "document.cookie" not in script
    assert "Authorization: `Bearer ${token}`" in script
    assert "innerHTML" not in script  # values from the API are shown as text, never parsed as markup
    assert re.findall(r"fetch\(([^,]+),", script) == ["API + path"]  # the admin API on this origin only


def test_the_script_explains_every_delivery_reason(lambda_context):
    # Given the script's table of reason codes in words
    script = whole_script(lambda_context)
    table = script.split("const REASONS = {", 1)[1].split("};", 1)[0]
    explained = set(re.findall(r"^\s+(\w+):", table, re.MULTILINE))
    # Then it has one entry per delivery.Reason, and no other
    assert explained == {reason.value for reason in Reason}


def test_the_script_previews_the_same_placeholders_as_the_renderer(lambda_context):
    script = whole_script(lambda_context)
    assert f"const PLACEHOLDERS = {list(PLACEHOLDERS)};".replace("'", '"') in script


def test_the_page_routes_need_no_token_but_the_api_still_does(lambda_context):
    # The page is public; the handler itself does not check tokens (the authorizer does, in front of the API)
    event = load_event("admin_page")
    assert "authorization" not in event["headers"]
    assert "authorizer" not in event["requestContext"]
    assert get("admin_page", lambda_context)["statusCode"] == 200


def test_the_api_state_names_the_default_message_template(aws, lambda_context):
    # The page previews the template in force; a null message_template means the deployment's default
    response = admin.lambda_handler(load_event("admin_get_webhook"), lambda_context)
    assert '"message_template_default": "New user signed up: {name}"' in response["body"]


def test_the_replay_form_and_the_log_have_their_errors_next_to_their_controls(lambda_context):
    # Given the markup of the health, deliveries and replay sections
    ids = {attrs.get("id"): attrs for _, attrs in parsed_page(lambda_context).tags}
    # Then each control the page can report an error about names its own error element
    for control, error in [
        ("since", "since-error"),  # the fields the replay API names in {"field": ...}
        ("until", "until-error"),
        ("redrive", "redrive-result"),
        ("delivery-status", "deliveries-error"),
        ("deliveries-more", "deliveries-error"),
    ]:
        assert error in ids, error
        assert error in (ids[control].get("aria-describedby") or ""), control
    assert ids["since"]["type"] == ids["until"]["type"] == "datetime-local"
    assert ids["redrive-result"]["aria-live"] == ids["replay-result"]["aria-live"] == "polite"
    assert ids["replay-since"]["aria-describedby"] == "replay-result"


def test_everything_that_needs_the_token_is_hidden_until_it_is_accepted(lambda_context):
    tags = parsed_page(lambda_context).tags
    sections = {attrs["id"]: attrs for tag, attrs in tags if tag == "section" and attrs.get("id")}
    assert set(sections) == {"token-section", "health", "endpoints", "deliveries", "replay"}
    assert "hidden" not in sections.pop("token-section")
    nav = next(attrs for tag, attrs in tags if tag == "nav")
    for name, attrs in [*sections.items(), ("nav", nav)]:
        assert "hidden" in attrs, name
        assert "needs-token" in (attrs.get("class") or "").split(), name


def script_table(script: str, start: str) -> set[str]:
    """The keys of a `const NAME = {...};` table in the script, or the strings of a `const NAME = [...];` list."""
    body = script.split(start, 1)[1].split(";", 1)[0]
    return set(re.findall(r"^\s+(\w+):", body, re.MULTILINE)) or set(re.findall(r'"(\w+)"', body))


def test_the_script_knows_every_delivery_status_trigger_and_health_status_of_the_api(lambda_context):
    # Given the script's words for what the delivery log API sends
    script = whole_script(lambda_context)
    # Then they are exactly the API's vocabularies, so no status is shown as "unknown" and no trigger as a bare code
    assert script_table(script, "const DELIVERY_STATUSES = ") == {status.value for status in Status}
    assert script_table(script, "const TRIGGERS = {") == {trigger.value for trigger in Trigger}
    assert script_table(script, "const HEALTH = {") == {"healthy", "failing", "unknown"}
    assert {Health().status, Health(last_success_at="t").status, Health(consecutive_failures=1).status} == {
        "healthy",
        "failing",
        "unknown",
    }


def test_the_script_calls_only_the_admin_routes_the_api_has(lambda_context):
    # Given every path the script appends to the admin API's base
    script = whole_script(lambda_context)
    literals = re.findall(r'call\("(?:GET|PUT|POST|PATCH|DELETE)", [`"]([^`"]*)', script)
    paths = {re.sub(r"\$\{[^}]*\}", "<id>", literal.split("?")[0]) for literal in literals}
    # And the endpoints' paths, made by endpointPath(item, action) under ENDPOINTS
    assert 'const ENDPOINTS = "/webhooks";' in script
    assert "return `${ENDPOINTS}/${encodeURIComponent(item.id)}${action}`;" in script  # an id is never raw
    actions = set(re.findall(r'endpointPath\(\w+, "([^"]*)"\)', script))
    assert actions == {"/test", "/rotate-secret"}
    paths |= {"/webhooks", "/webhooks/<id>", *(f"/webhooks/<id>{action}" for action in actions)}
    # Then each is a route of the admin function
    routes = {re.sub(r"<\w+>", "<id>", route.removeprefix("/api/v1/admin")) for route in admin_routes()}
    assert {path for path in paths if path.startswith("/webhook/") or path == "/webhook"} == {
        "/webhook",
        "/webhook/test",
        "/webhook/redrive",
        "/webhook/replay",
        "/webhook/deliveries",
        "/webhook/deliveries/<id>/resend",
    }
    assert paths <= routes
    assert 'call("POST", `/webhook/deliveries/${encodeURIComponent(item.id)}/resend`' in script


def admin_routes() -> set[str]:
    """The paths the admin handler declares (`@app.get("/api/...")`)."""
    return set(re.findall(r'^@app\.\w+\("([^"]+)"\)', Path(admin.__file__).read_text(encoding="utf-8"), re.MULTILINE))
