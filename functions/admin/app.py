"""Admin API for the webhook settings and a test send. API Gateway runs the token authorizer before every API route.

The settings page (/admin, its script's modules and its style) is static and public: it holds no data, and every
API call it makes carries the admin token.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import admin, admin_test_send, api, delivery_log_admin, endpoints_admin, metrics, page
from signup_hooks.admin_test_send import TestSendRequest
from signup_hooks.config import load_config
from signup_hooks.delivery_log_admin import DeliveryQuery, ReplayWindow
from signup_hooks.endpoints_admin import EndpointRequest

logger = Logger()
config = load_config().require("webhook_settings_parameter")
app = APIGatewayHttpResolver()
api.register_error_handlers(app)


@app.get("/api/v1/admin/webhook")
def get_webhook() -> Response[str]:
    return api.json_response(200, {**admin.webhook_state(config), "health": delivery_log_admin.health(config)})


@app.put("/api/v1/admin/webhook")
def put_webhook() -> Response[str]:
    change = admin.settings_change(api.request_body(app), config)
    return api.json_response(200, admin.set_webhook(config, change))


@app.delete("/api/v1/admin/webhook")
def delete_webhook() -> Response[str]:
    return api.json_response(200, admin.clear_webhook(config))


@app.post("/api/v1/admin/webhook/test")
def test_webhook() -> Response[str]:
    snapshot = admin.current_snapshot(config)
    request = TestSendRequest.parse(api.request_body(app))
    answer = admin_test_send.send_test(config, snapshot, config.webhook_url_env, request, app.lambda_context)
    return api.json_response(200, answer)


@app.post("/api/v1/admin/webhook/redrive")
def redrive_webhook() -> Response[str]:
    from signup_hooks import redrive  # the stream and delivery code, for this route only

    max_messages = redrive.max_messages_of(api.request_body(app))
    return api.json_response(200, redrive.redrive(config, app.lambda_context, max_messages).to_dict())


@app.get("/api/v1/admin/webhook/deliveries")
def list_deliveries() -> Response[str]:
    query = DeliveryQuery.parse(app.current_event.query_string_parameters)
    return api.json_response(200, delivery_log_admin.list_deliveries(config, query))


@app.get("/api/v1/admin/webhook/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response[str]:
    return api.json_response(200, delivery_log_admin.get_delivery(config, delivery_id))


@app.post("/api/v1/admin/webhook/deliveries/<delivery_id>/resend")
def resend_delivery(delivery_id: str) -> Response[str]:
    from signup_hooks import resend  # the delivery code, for this route only

    return api.json_response(200, resend.resend(config, delivery_id, app.lambda_context))


@app.post("/api/v1/admin/webhook/replay")
def replay_window() -> Response[str]:
    window = ReplayWindow.parse(api.request_body(app))
    seconds = app.lambda_context.get_remaining_time_in_millis() / 1000
    return api.json_response(200, delivery_log_admin.replay(config, window, seconds))


@app.get("/api/v1/admin/webhooks")
def list_endpoints() -> Response[str]:
    return api.json_response(200, endpoints_admin.list_endpoints(config))


@app.post("/api/v1/admin/webhooks")
def create_endpoint() -> Response[str]:
    request = EndpointRequest.parse(api.request_body(app), config, creating=True)
    return api.json_response(201, endpoints_admin.create(config, request))


@app.get("/api/v1/admin/webhooks/<endpoint_id>")
def get_endpoint(endpoint_id: str) -> Response[str]:
    return api.json_response(200, endpoints_admin.get(config, endpoint_id))


@app.patch("/api/v1/admin/webhooks/<endpoint_id>")
def update_endpoint(endpoint_id: str) -> Response[str]:
    request = EndpointRequest.parse(api.request_body(app), config, creating=False)
    return api.json_response(200, endpoints_admin.update(config, endpoint_id, request))


@app.delete("/api/v1/admin/webhooks/<endpoint_id>")
def delete_endpoint(endpoint_id: str) -> Response[str]:
    return api.json_response(200, endpoints_admin.delete(config, endpoint_id))


@app.post("/api/v1/admin/webhooks/<endpoint_id>/test")
def test_endpoint(endpoint_id: str) -> Response[str]:
    request = TestSendRequest.parse(api.request_body(app))
    return api.json_response(200, endpoints_admin.send_test(config, endpoint_id, request, app.lambda_context))


@app.post("/api/v1/admin/webhooks/<endpoint_id>/rotate-secret")
def rotate_endpoint_secret(endpoint_id: str) -> Response[str]:
    return api.json_response(200, endpoints_admin.rotate_secret(config, endpoint_id))


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
