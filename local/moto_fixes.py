"""Fixes to moto for a long-running local stack, applied in the local stack's process only.

moto remembers every model object it ever creates (`BaseModel.instances_tracked`, for its dashboard): every item
written, every copy of a table, every shard iterator. In a server that runs for hours that is a leak, and the
garbage collector's full passes over millions of such objects stall the whole process (moto, the API, the
poller) for seconds, long enough for a signup to hit its timeout under load. The local stack has no dashboard:
objects are no longer tracked.

Then three fixes to moto's DynamoDB transactions:

moto backs up a whole table with `copy.deepcopy` before every operation of a `TransactWriteItems`, and restores
that copy when the transaction fails. The copy includes the table's stream shard, which has two effects:
- after a failed transaction (a duplicate e-mail at signup, say), the table holds a *new* stream shard, so a
  reader's shard iterator (the local event source mapping) never sees another record: notifications stop;
- every signup copies every item and every stream record so far: the copies are garbage with reference cycles,
  and the collector's pauses grow with the table until the whole process (moto, the API, the poller) stalls for
  seconds at a time, long enough for a signup to hit its timeout under load.

The fix: the backup shares the stream shard (a stream is append-only, and DynamoDB writes nothing to it for a
failed transaction; the records a failed transaction wrote are dropped again) and copies only what a write
changes: the item map, each item, and each item's attribute map. Puts and deletes replace items, updates replace
attribute values, so that copy restores the table as moto's full copy would.

Third, moto ignores `ClientRequestToken`. botocore fills it in once per call and sends the same token on each
retry, and DynamoDB answers a repeated token (for 10 minutes) with the first call's success instead of running the
transaction again. Without that, a signup whose first try timed out on a busy machine came back 409 `email_taken`:
its own retry found the e-mail it had just written. AWS itself needs none of this; the functions are unchanged.

Last, a fix that makes moto stricter, not kinder: Parameter Store refuses a value holding `{{ ... }}` (its syntax
for nesting another parameter), and a value past its tier's size (4 KB Standard, 8 KB Advanced, which
Intelligent-Tiering moves a larger value to), with a ValidationException; moto stores both. `refuse_nested_parameters`
makes moto refuse them too, here and in the tests' moto, so that code writing such a value fails locally as on AWS.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import time
from collections import defaultdict
from typing import Any

from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.ssm.exceptions import ValidationException
from moto.ssm.models import SimpleSystemManagerBackend

TOKEN_SECONDS = 600  # how long DynamoDB remembers a transaction's ClientRequestToken
NESTED_PARAMETER = re.compile(r"\{\{.*\}\}", re.DOTALL)
NESTED_PARAMETER_MESSAGE = 'Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.'
MAX_VALUE_BYTES = {"Standard": 4 * 1024, "Advanced": 8 * 1024, "Intelligent-Tiering": 8 * 1024}

_applied = False
_ssm_strict = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    BaseModel.__new__ = _untracked  # type: ignore[assignment,method-assign]
    Table.__deepcopy__ = _backup  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _without_failed_stream_records(DynamoDBBackend.transact_write_items)
    DynamoHandler.transact_write_items = _idempotent_by_token(DynamoHandler.transact_write_items)
    refuse_nested_parameters()


def refuse_nested_parameters() -> None:
    """Make moto's PutParameter refuse `{{ ... }}` in a value, as Parameter Store does."""
    global _ssm_strict
    if _ssm_strict:
        return
    _ssm_strict = True
    put = SimpleSystemManagerBackend.put_parameter

    @functools.wraps(put)
    def strict_put(
        self: SimpleSystemManagerBackend, name: str, description: str, value: str, *args: Any, **kwargs: Any
    ) -> Any:
        if isinstance(value, str) and NESTED_PARAMETER.search(value):
            raise ValidationException(NESTED_PARAMETER_MESSAGE)
        tier = kwargs.get("tier") or "Standard"
        limit = MAX_VALUE_BYTES.get(tier, MAX_VALUE_BYTES["Standard"])
        if isinstance(value, str) and len(value.encode("utf-8")) > limit:
            raise ValidationException(f"{tier} tier parameters support a maximum parameter value of {limit} bytes.")
        return put(self, name, description, value, *args, **kwargs)

    SimpleSystemManagerBackend.put_parameter = strict_put  # type: ignore[method-assign]


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def _backup(self: Table, memo: dict[int, Any]) -> Table:
    clone = copy.copy(self)  # shares the stream shard, the schema, the indexes: nothing a write changes
    clone.items = defaultdict(dict) if isinstance(self.items, defaultdict) else {}
    for key, value in self.items.items():
        clone.items[key] = (
            {rk: _copy_item(item) for rk, item in value.items()} if isinstance(value, dict) else (_copy_item(value))
        )
    return clone


def _copy_item(item: Item) -> Item:
    clone = copy.copy(item)
    clone.attrs = LimitedSizeDict(item.attrs)
    return clone


def _without_failed_stream_records(transact: Any) -> Any:
    @functools.wraps(transact)
    def wrapper(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        lengths = {name: len(table.stream_shard.items) for name, table in self.tables.items() if table.stream_shard}
        try:
            transact(self, transact_items)
        except Exception:
            for name, length in lengths.items():
                shard = self.tables[name].stream_shard if name in self.tables else None
                if shard is not None:
                    del shard.items[length:]
            raise

    return wrapper


def _idempotent_by_token(handle: Any) -> Any:
    lock = threading.Lock()
    completed: dict[str, tuple[float, Any]] = {}  # token -> (when, the first call's answer)

    @functools.wraps(handle)
    def wrapper(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return handle(self)
        with lock:  # one call per token at a time; calls with other tokens are not held up for long
            now = time.monotonic()
            for old in [key for key, (when, _) in completed.items() if now - when > TOKEN_SECONDS]:
                del completed[old]
            if token in completed:
                return completed[token][1]
            answer = handle(self)  # raises when the transaction fails: a retry then runs it again, as DynamoDB does
            completed[token] = (now, answer)
            return answer

    return wrapper
