"""HTTP API Lambda authorizer (simple responses) for the admin routes.

API Gateway itself answers 401 when the Authorization header is missing; a token that does not match gets 403.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from signup_hooks import metrics
from signup_hooks.api import auth
from signup_hooks.config import load_config
from signup_hooks.storage import secrets

logger = Logger()
config = load_config().require("admin_token_secret")


# The API request id, as in the admin function's lines for the same request.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerEventV2(event)
    allowed = auth.is_admin(
        request.headers.get("authorization"), lambda: secrets.admin_token(config.admin_token_secret)
    )
    logger.info("admin request authorized" if allowed else "admin request refused", extra={"route": request.route_key})
    return APIGatewayAuthorizerResponseV2(authorize=allowed).asdict()
