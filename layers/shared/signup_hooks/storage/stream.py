"""Reading the users table's stream back: the records of a stream batch Lambda gave up on (its OnFailure record names
the shard and the first and last sequence numbers), shaped as Lambda passes them to the notifier."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from botocore.exceptions import BotoCoreError, ClientError

from signup_hooks.errors import ShortRead, StorageUnavailable, StreamGone
from signup_hooks.model.dead_letter import BatchInfo
from signup_hooks.storage import aws

MAX_STREAM_PAGES = 20  # GetRecords calls per OnFailure record: its batch holds at most BatchSize records


def batch_records(info: BatchInfo) -> list[DynamoDBRecord]:
    """The records from `info.start_sequence` to `info.end_sequence` (GetShardIterator AT_SEQUENCE_NUMBER, then
    GetRecords). Raises StreamGone, ShortRead or StorageUnavailable."""
    streams = aws.client("dynamodbstreams")
    last = int(info.end_sequence)
    records: list[DynamoDBRecord] = []
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info.stream_arn,
            ShardId=info.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info.start_sequence,
        ).get("ShardIterator")
        for _page in range(MAX_STREAM_PAGES):
            if not iterator:
                break
            response = streams.get_records(ShardIterator=iterator, Limit=100)
            for raw in response.get("Records", []):
                if int(raw["dynamodb"]["SequenceNumber"]) > last:
                    return records
                records.append(DynamoDBRecord(_lambda_shape(raw, info.stream_arn)))
            if records and int(records[-1].dynamodb.sequence_number or 0) >= last:  # type: ignore[union-attr]
                return records
            iterator = response.get("NextShardIterator")
        raise ShortRead(f"read {len(records)} records without reaching sequence number {last}")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"):
            raise StreamGone(code) from exc
        raise StorageUnavailable(f"the stream could not be read: {code}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"the stream could not be reached: {type(exc).__name__}") from exc


def _lambda_shape(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda passes it (the date as epoch seconds rather than a datetime)."""
    image = dict(raw["dynamodb"])
    created = image.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        image["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**raw, "dynamodb": image, "eventSourceARN": stream_arn}
