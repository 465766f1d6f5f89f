"""Admin API for the webhook settings and a test send. API Gateway runs the token authorizer before every API route.

The settings page (/admin, its script's modules and its style) is static and public: it holds no data, and every
API call it makes carries the admin token.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics
from signup_hooks.admin import delivery_routes, endpoint_routes, page, send_a_test, webhook_routes
from signup_hooks.admin.delivery_routes import DeliveryQuery, ReplayWindow
from signup_hooks.admin.endpoint_routes import EndpointRequest
from signup_hooks.admin.send_a_test import TestSendRequest
from signup_hooks.api import answers
from signup_hooks.config import load_config

logger = Logger()
config = load_config().require("webhook_settings_parameter")
app = APIGatewayHttpResolver()
answers.register_error_handlers(app)


@app.get("/api/v1/admin/webhook")
def get_webhook() -> Response[str]:
    return answers.json_response(
        200, {**webhook_routes.webhook_state(config), "health": delivery_routes.health(config)}
    )


@app.put("/api/v1/admin/webhook")
def put_webhook() -> Response[str]:
    change = webhook_routes.settings_change(answers.request_body(app), config)
    return answers.json_response(200, webhook_routes.set_webhook(config, change))


@app.delete("/api/v1/admin/webhook")
def delete_webhook() -> Response[str]:
    return answers.json_response(200, webhook_routes.clear_webhook(config))


@app.post("/api/v1/admin/webhook/test")
def test_webhook() -> Response[str]:
    snapshot = webhook_routes.current_snapshot(config)
    request = TestSendRequest.parse(answers.request_body(app))
    answer = send_a_test.send_test(config, snapshot, config.webhook_url_env, request, app.lambda_context)
    return answers.json_response(200, answer)


@app.post("/api/v1/admin/webhook/redrive")
def redrive_webhook() -> Response[str]:
    from signup_hooks.admin import redrive  # the stream and delivery code, for this route only

    max_messages = redrive.max_messages_of(answers.request_body(app))
    return answers.json_response(200, redrive.redrive(config, app.lambda_context, max_messages).to_dict())


@app.get("/api/v1/admin/webhook/deliveries")
def list_deliveries() -> Response[str]:
    query = DeliveryQuery.parse(app.current_event.query_string_parameters)
    return answers.json_response(200, delivery_routes.list_deliveries(config, query))


@app.get("/api/v1/admin/webhook/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response[str]:
    return answers.json_response(200, delivery_routes.get_delivery(config, delivery_id))


@app.post("/api/v1/admin/webhook/deliveries/<delivery_id>/resend")
def resend_delivery(delivery_id: str) -> Response[str]:
    from signup_hooks.admin import resend  # the delivery code, for this route only

    return answers.json_response(200, resend.resend(config, delivery_id, app.lambda_context))


@app.post("/api/v1/admin/webhook/replay")
def replay_window() -> Response[str]:
    window = ReplayWindow.parse(answers.request_body(app))
    seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return answers.json_response(200, delivery_routes.replay(config, window, seconds))


@app.get("/api/v1/admin/webhooks")
def list_endpoints() -> Response[str]:
    return answers.json_response(200, endpoint_routes.list_endpoints(config))


@app.post("/api/v1/admin/webhooks")
def create_endpoint() -> Response[str]:
    request = EndpointRequest.parse(answers.request_body(app), config, creating=True)
    return answers.json_response(201, endpoint_routes.create(config, request))


@app.get("/api/v1/admin/webhooks/<endpoint_id>")
def get_endpoint(endpoint_id: str) -> Response[str]:
    return answers.json_response(200, endpoint_routes.get(config, endpoint_id))


@app.patch("/api/v1/admin/webhooks/<endpoint_id>")
def update_endpoint(endpoint_id: str) -> Response[str]:
    request = EndpointRequest.parse(answers.request_body(app), config, creating=False)
    return answers.json_response(200, endpoint_routes.update(config, endpoint_id, request))


@app.delete("/api/v1/admin/webhooks/<endpoint_id>")
def delete_endpoint(endpoint_id: str) -> Response[str]:
    return answers.json_response(200, endpoint_routes.delete(config, endpoint_id))


@app.post("/api/v1/admin/webhooks/<endpoint_id>/test")
def test_endpoint(endpoint_id: str) -> Response[str]:
    request = TestSendRequest.parse(answers.request_body(app))
    endpoint = endpoint_routes.readable(config, endpoint_id)
    answer = send_a_test.send_test(config, endpoint.snapshot, endpoint.environment_url, request, app.lambda_context)
    return answers.json_response(200, answer)


@app.post("/api/v1/admin/webhooks/<endpoint_id>/rotate-secret")
def rotate_endpoint_secret(endpoint_id: str) -> Response[str]:
    return answers.json_response(200, endpoint_routes.rotate_secret(config, endpoint_id))


# Public, like the page: the description of the API holds no data, and tools (a client generator, the fuzzer) fetch
# it without the token. Built from the handlers' own bounds, on its first request only.
@app.get("/api/v1/admin/openapi.json")
def openapi_document() -> Response[str]:
    from signup_hooks.admin import openapi

    return Response(200, content_types.APPLICATION_JSON, openapi.document_json(), dict(answers.SECURITY_HEADERS))


@app.get("/admin")
def admin_page() -> Response[str]:
    return page.response("page")


@app.get("/admin/app.js")
def admin_script() -> Response[str]:
    return page.response("script")


@app.get("/admin/js/<name>")
def admin_script_module(name: str) -> Response[str]:
    return page.module_response(name)


@app.get("/admin/app.css")
def admin_style() -> Response[str]:
    return page.response("style")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
