"""POST /api/v1/auths/signup: create a user. The notification follows from the table's stream, off this path."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics, signup
from signup_hooks.api import answers
from signup_hooks.config import load_config
from signup_hooks.storage.users_table import UsersTable

logger = Logger()
config = load_config().require("users_table")
app = APIGatewayHttpResolver()
answers.register_error_handlers(app)


@app.post("/api/v1/auths/signup")
def sign_up() -> Response[str]:
    form = signup.parse_signup(answers.request_body(app))
    account = signup.new_account(form, config.default_user_role, config.password_hash_profile)
    user = UsersTable(config.users_table).create(account)
    metrics.count(metrics.SIGNUPS)
    logger.info("user signed up", extra={"user_id": user.id})
    return answers.json_response(200, user.to_dict())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
