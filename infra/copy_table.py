#!/usr/bin/env python3
"""Copy one registry's DynamoDB table into another's (scripts/restore-drill): a Scan of the
source, consistent reads, page by page, written with BatchWriteItem, 25 items a call (the
API's limit: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html),
the UnprocessedItems sent again with backoff until none are left ("If DynamoDB returns any
unprocessed items, you should retry the batch operation on those items ... we strongly
recommend that you use an exponential backoff algorithm", same page).

Items that cannot serve in another stack are left out and counted:
- `SUB#` / `SUBOWNER#`: subscriptions. Their SNS subscriptions belong to the old stack's
  topics; in the new stack they would be listed and never deliver. Subscribers subscribe again.
- `NONCE#`: challenges of requests in flight, minutes long; clients fetch new ones.

Puts overwrite: copying again (a drill repeated, a copy interrupted) converges to the source.

    python3 infra/copy_table.py SOURCE_TABLE TARGET_TABLE    # prints a JSON summary
"""

import argparse
import json
import sys
import time

import boto3

SKIPPED_PREFIXES = ("SUB#", "SUBOWNER#", "NONCE#")
BATCH = 25


def copy(ddb, source: str, target: str) -> dict:
    copied, skipped, pages = 0, {p: 0 for p in SKIPPED_PREFIXES}, 0
    kwargs = {"TableName": source, "ConsistentRead": True}
    pending: list[dict] = []
    while True:
        page = ddb.scan(**kwargs)
        pages += 1
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            prefix = next((p for p in SKIPPED_PREFIXES if pk.startswith(p)), None)
            if prefix:
                skipped[prefix] += 1
                continue
            pending.append(item)
            if len(pending) == BATCH:
                write(ddb, target, pending)
                copied += len(pending)
                pending = []
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if pending:
        write(ddb, target, pending)
        copied += len(pending)
    return {"source": source, "target": target, "copied": copied, "skipped": skipped,
            "scan_pages": pages}


def write(ddb, table: str, items: list[dict]) -> None:
    requests = {table: [{"PutRequest": {"Item": item}} for item in items]}
    delay = 0.05
    for _ in range(12):
        left = ddb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        if not left:
            return
        requests = left
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    raise SystemExit(f"copy_table: {sum(len(v) for v in requests.values())} items still unprocessed")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source")
    p.add_argument("target")
    args = p.parse_args()
    ddb = boto3.client("dynamodb")
    print(json.dumps(copy(ddb, args.source, args.target)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
