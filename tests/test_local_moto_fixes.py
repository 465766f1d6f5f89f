"""The local stack's fixes to moto's DynamoDB transactions (local/moto_fixes.py), against the tests' moto server."""

from __future__ import annotations

import json
from typing import Any

import boto3

import conftest as sandbox
from functions.signup import app as signup
from local import moto_fixes
from tests.conftest import load_event


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
