"""Query for moto that reads the partition asked for, as DynamoDB does.

moto 5's `Table.query` starts from `all_items()`: every item of the table, sorted, for every
Query, on the table or on an index. Its cost grows with the whole table, where DynamoDB reads
only the partition named by the key condition ("Query ... finds items based on primary key
values": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html). With calls
serialized (providers.py), one Query on a table of 50,000 items held every other caller for a
few hundred milliseconds: a hundred concurrent registrations then waited past their Lambda
timeout, and the dashboard's statistics grew slow with the suite's own data.

Here `Table.query` is given only the candidates of its partition, and moto's own code does the
rest (key condition, sort, paging, filter, projection), unchanged:
- on the table (and local indexes, which share its partition key): the items under that hash key;
- on a global index: the items whose index partition attribute holds that value, from a map kept
  per table and attribute, built on the first Query of that attribute and kept up to date by
  every write path of moto (Table.put_item, Table.delete_item, DynamoDBBackend.update_item,
  which also serve BatchWriteItem and transactions.py).
Candidates are a superset moto filters again, so a stale entry costs nothing; a missing one would
hide an item. TRUSTREG_DDB_QUERY_CHECK=1 runs moto's original Query beside each indexed one and
logs any difference (`query index MISMATCH`), the way to check this file after changing it.
"""

import logging
import os

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

LOG = logging.getLogger(__name__)
_CHECK = os.environ.get("TRUSTREG_DDB_QUERY_CHECK") == "1"
_MAPS = "_trustreg_partition_maps"  # attribute -> value -> primary key -> item
_PLACED = "_trustreg_partition_placed"  # attribute -> primary key -> value it is filed under


def _pk(item):
    return (item.hash_key, item.range_key)


def _maps(table):
    maps = table.__dict__.get(_MAPS)
    if maps is None:
        maps = {}
        table.__dict__[_MAPS] = maps
        table.__dict__[_PLACED] = {}
    return maps


def _file(table, attr, pk, item):
    """Files `item` (None: removed) under its current value of `attr`."""
    by_value = table.__dict__[_MAPS][attr]
    placed = table.__dict__[_PLACED][attr]
    old = placed.pop(pk, None)
    if old is not None:
        bucket = by_value.get(old)
        if bucket is not None:
            bucket.pop(pk, None)
            if not bucket:
                del by_value[old]
    value = item.attrs.get(attr) if item is not None else None
    if value is not None and value.type in ("S", "N", "B"):  # the only key types
        by_value.setdefault(value, {})[pk] = item
        placed[pk] = value


def _refile(table, pk, item):
    maps = table.__dict__.get(_MAPS)
    if maps:
        for attr in maps:
            _file(table, attr, pk, item)


def _partition_map(table, attr):
    maps = _maps(table)
    if attr not in maps:
        maps[attr] = {}
        table.__dict__[_PLACED][attr] = {}
        for item in table.all_items():
            _file(table, attr, _pk(item), item)
    return maps[attr]


def _candidates(table, hash_key, index_name):
    """The items of the partition a Query names, or None to leave it to moto entirely."""
    if index_name:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        hash_attr = next((k["AttributeName"] for k in getattr(index, "schema", ()) if k["KeyType"] == "HASH"), None)
        if hash_attr is None:
            return None  # moto names the error
        if hash_attr != table.hash_key_attr:
            return list(_partition_map(table, hash_attr).get(hash_key, {}).values())
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    return list(partition.values()) if table.range_key_attr else [partition]


def install():
    if getattr(Table.query, "_trustreg", False):
        return  # both providers (dynamodb, dynamodbstreams) install it
    original_query = Table.query
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = DynamoDBBackend.update_item

    def query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        candidates = _candidates(self, hash_key, index_name)
        if candidates is None:
            return original_query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates  # shadows the method for this call only (serialized)
        try:
            answer = original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items
        if _CHECK:
            full = original_query(self, hash_key, *args, **kwargs)
            if [_pk(i) for i in full[0]] != [_pk(i) for i in answer[0]] or full[2] != answer[2]:
                LOG.error("query index MISMATCH on %s index %s key %s: %d items indexed, %d by moto",
                          self.name, index_name, hash_key, len(answer[0]), len(full[0]))
        return answer

    def put_item(self, item_attrs, *args, **kwargs):
        item = original_put(self, item_attrs, *args, **kwargs)
        _refile(self, _pk(item), item)
        return item

    def delete_item(self, hash_key, range_key):
        item = original_delete(self, hash_key, range_key)
        if item is not None:
            _refile(self, _pk(item), None)
        return item

    def update_item(self, table_name, key, *args, **kwargs):
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:
            # Updated in place (or created, or left as it was): file it by what it now holds.
            table = self.tables.get(table_name)
            keyed = table is not None and table.hash_key_attr in key and (
                not table.range_key_attr or table.range_key_attr in key)
            if keyed and table.__dict__.get(_MAPS):
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                item = table.get_item(hash_value, range_value)
                _refile(table, (hash_value, range_value), item)

    query._trustreg = True
    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item
    DynamoDBBackend.update_item = update_item
