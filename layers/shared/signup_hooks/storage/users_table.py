"""The users table (DynamoDB): one table, two items per account, written in one transaction:
- `USER#<id>` (entity "user"): the profile. Its stream record is what notifies the administrator.
- `AUTH#<email>` (entity "auth"): the credential, keyed by the lower-cased email so that DynamoDB itself
  enforces uniqueness with a condition. Keeping the hash on its own item keeps it out of every user record
  that reaches the notifier.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import EmailTaken, StorageUnavailable
from signup_hooks.model.user import AUTH_ENTITY, USER_ENTITY, User
from signup_hooks.signup import Account
from signup_hooks.storage import aws

CREATED_INDEX = "ByCreated"  # template.yaml: users by creation time


class UsersTable:
    def __init__(self, table: str) -> None:
        self.table = table

    def create(self, account: Account) -> User:
        """Write the profile and the credential in one transaction: both or neither, email unique by condition."""
        user = account.user
        profile = {
            "pk": {"S": f"USER#{user.id}"},
            "entity": {"S": USER_ENTITY},
            "id": {"S": user.id},
            "name": {"S": user.name},
            "email": {"S": user.email},
            "role": {"S": user.role},
            "created_at": {"N": str(user.created_at)},
            "profile_image_url": {"S": user.profile_image_url},
        }
        credential = {
            "pk": {"S": f"AUTH#{user.email}"},
            "entity": {"S": AUTH_ENTITY},
            "user_id": {"S": user.id},
            "password_hash": {"S": account.password_hash},
            "created_at": {"N": str(user.created_at)},
        }
        condition = "attribute_not_exists(pk)"
        try:
            aws.client("dynamodb").transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": credential, "ConditionExpression": condition}},
                    {"Put": {"TableName": self.table, "Item": profile, "ConditionExpression": condition}},
                ]
            )
        except ClientError as exc:
            if _email_condition_failed(exc):
                raise EmailTaken("an account with this email already exists") from exc
            raise StorageUnavailable(f"DynamoDB refused the signup: {exc.response['Error'].get('Code')}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"DynamoDB could not be reached: {type(exc).__name__}") from exc
        return user

    def get(self, user_id: str) -> User | None:
        """A user's profile by id, or None when it no longer exists."""
        try:
            answer = aws.client("dynamodb").get_item(TableName=self.table, Key={"pk": {"S": f"USER#{user_id}"}})
        except ClientError as exc:
            raise StorageUnavailable(f"DynamoDB refused the read: {exc.response['Error'].get('Code')}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"DynamoDB could not be reached: {type(exc).__name__}") from exc
        item = answer.get("Item")
        if not item or item.get("entity", {}).get("S") != USER_ENTITY:
            return None
        return _user(item)

    def created_between(
        self, since: int, until: int, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[User], dict[str, Any] | None]:
        """Users created in [since, until] (epoch seconds), oldest first, through the index: never a scan.

        Returns the page and the index key to continue from (None at the end)."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": CREATED_INDEX,
            "KeyConditionExpression": "entity = :entity AND created_at BETWEEN :since AND :until",
            "ExpressionAttributeValues": {
                ":entity": {"S": USER_ENTITY},
                ":since": {"N": str(since)},
                ":until": {"N": str(until)},
            },
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        try:
            answer = aws.client("dynamodb").query(**request)
        except ClientError as exc:
            raise StorageUnavailable(f"DynamoDB refused the query: {exc.response['Error'].get('Code')}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"DynamoDB could not be reached: {type(exc).__name__}") from exc
        return [_user(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")


def _user(item: dict[str, Any]) -> User:
    """From a DynamoDB item in its typed form (`{"S": ...}`, `{"N": ...}`)."""
    return User.from_item({name: next(iter(value.values())) for name, value in item.items()})


def _email_condition_failed(exc: ClientError) -> bool:
    if exc.response["Error"].get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    # The credential item is first in the transaction; its condition failing means the email is taken.
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"
