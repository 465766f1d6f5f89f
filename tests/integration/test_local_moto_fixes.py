"""The local stack's fixes to moto's DynamoDB transactions (local/moto_fixes.py), against the tests' moto server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.signup import app as signup
from local import moto_fixes
from tests import sandbox
from tests.helpers import load_event


def sign_up(context: Any, email: str) -> int:
    event = load_event("signup_valid")
    event["body"] = json.dumps({"name": "Tim", "email": email, "password": "correct horse battery staple"})
    return int(signup.lambda_handler(event, context)["statusCode"])


def test_a_failed_transaction_neither_breaks_the_stream_nor_leaves_records_on_it(aws, lambda_context):
    # Given the fixes and a reader positioned at the start of the users table's stream
    moto_fixes.apply()
    streams = boto3.client("dynamodbstreams")
    arn = aws.dynamodb.describe_table(TableName=sandbox.TABLE_NAME)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    # When a signup succeeds, a duplicate fails its transaction, and another signup succeeds
    assert sign_up(lambda_context, "first@example.com") == 200
    assert sign_up(lambda_context, "first@example.com") == 409
    assert sign_up(lambda_context, "second@example.com") == 200
    # Then the same reader sees both successful signups (two items each) and nothing of the failed one
    records = []
    for _ in range(3):
        response = streams.get_records(ShardIterator=iterator)
        records += response["Records"]
        iterator = response["NextShardIterator"]
    emails = [r["dynamodb"]["NewImage"]["email"]["S"] for r in records if "email" in r["dynamodb"]["NewImage"]]
    assert emails == ["first@example.com", "second@example.com"]
    assert len(records) == 4


def test_a_retried_transaction_with_the_same_token_succeeds_without_running_again(aws):
    # Given the fixes and one transaction sent twice with the same ClientRequestToken, as botocore retries it
    moto_fixes.apply()
    put = {"TableName": sandbox.TABLE_NAME, "Item": {"pk": {"S": "AUTH#retry@example.com"}}}
    request = {
        "TransactItems": [{"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}}],
        "ClientRequestToken": "a-token-botocore-made",
    }
    aws.dynamodb.transact_write_items(**request)
    # When the retry arrives, then it succeeds (DynamoDB's answer), while a new token still meets the condition
    aws.dynamodb.transact_write_items(**request)
    with pytest.raises(aws.dynamodb.exceptions.TransactionCanceledException):
        aws.dynamodb.transact_write_items(**{**request, "ClientRequestToken": "another-token"})


def test_a_failed_transaction_is_rolled_back_and_moto_keeps_no_copy_of_what_it_made(aws):
    # Given the fixes, and moto's record of the item objects it made so far
    moto_fixes.apply()
    from moto.dynamodb.models.dynamo_type import Item

    tracked = len(Item.instances_tracked)  # type: ignore[attr-defined]
    put = {"TableName": sandbox.TABLE_NAME, "Item": {"pk": {"S": "AUTH#taken@example.com"}}}
    aws.dynamodb.transact_write_items(TransactItems=[{"Put": put}])
    # When a transaction writes one new item and then fails its condition on the existing one
    with pytest.raises(aws.dynamodb.exceptions.TransactionCanceledException):
        aws.dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": sandbox.TABLE_NAME, "Item": {"pk": {"S": "USER#new"}}}},
                {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    # Then the new item is gone again, and moto kept no reference to any item it made (a leak in a long run)
    assert [item["pk"]["S"] for item in aws.items()] == ["AUTH#taken@example.com"]
    assert len(Item.instances_tracked) == tracked  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "tier, limit", [("Standard", 4 * 1024), ("Advanced", 8 * 1024), ("Intelligent-Tiering", 8 * 1024)]
)
def test_moto_refuses_a_value_past_its_tiers_size_as_parameter_store_does(aws, tier, limit):
    # Given moto with the fixes (the tests' moto has them), and a value of exactly its tier's limit
    moto_fixes.refuse_nested_parameters()
    aws.ssm.put_parameter(Name="/size/fits", Value="x" * limit, Type="SecureString", Tier=tier)
    # When a value one byte longer is written, then it is refused and nothing is stored
    with pytest.raises(aws.ssm.exceptions.ClientError) as refused:
        aws.ssm.put_parameter(Name="/size/past", Value="x" * (limit + 1), Type="SecureString", Tier=tier)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(aws.ssm.exceptions.ParameterNotFound):
        aws.ssm.get_parameter(Name="/size/past")
