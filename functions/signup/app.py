"""POST /api/v1/auths/signup: create a user. The notification follows from the table's stream, off this path."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import api, metrics, users
from signup_hooks.config import load_config
from signup_hooks.storage.users_table import UsersTable

logger = Logger()
config = load_config().require("users_table")
app = APIGatewayHttpResolver()
api.register_error_handlers(app)


@app.post("/api/v1/auths/signup")
def signup() -> Response[str]:
    form = users.parse_signup(api.request_body(app))
    account = users.new_account(form, config.default_user_role, config.password_hash_profile)
    user = UsersTable(config.users_table).create(account)
    metrics.count(metrics.SIGNUPS)
    logger.info("user signed up", extra={"user_id": user.id})
    return api.json_response(200, user.to_dict())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
