"""Two fixes to moto's DynamoDB transactions, applied in the local stack's process only.

moto backs up a whole table with `copy.deepcopy` before every operation of a `TransactWriteItems`, and restores
that copy when the transaction fails. The copy includes the table's stream shard, which has two effects:
- after a failed transaction (a duplicate e-mail at signup, say), the table holds a *new* stream shard, so a
  reader's shard iterator (the local event source mapping) never sees another record: notifications stop;
- every signup copies every item and every stream record so far: signups slow down as the table grows, and the
  local stack's memory grows by gigabytes under load.

The fix: a table's copy shares its stream shard (a stream is append-only, and DynamoDB writes nothing to it for
a failed transaction), and a failed transaction's stream records are dropped again. Items are still deep-copied,
so a rollback restores them exactly as moto intends. AWS itself needs none of this; the functions are unchanged.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    Table.__deepcopy__ = _copy_sharing_the_stream  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _without_failed_stream_records(DynamoDBBackend.transact_write_items)


def _copy_sharing_the_stream(self: Table, memo: dict[int, Any]) -> Table:
    clone = copy.copy(self)
    memo[id(self)] = clone
    for name, value in vars(self).items():
        if name != "stream_shard":
            setattr(clone, name, copy.deepcopy(value, memo))
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
