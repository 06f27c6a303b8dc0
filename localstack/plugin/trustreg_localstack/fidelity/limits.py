"""AWS's size and count limits that LocalStack 4.7.0 (with moto) lets through, or gets wrong.

Probed on LocalStack 4.7.0 host mode before writing this (what it already does is left alone):
- already refused as AWS does: DynamoDB partition key > 2,048 bytes and sort key > 1,024 bytes
  on writes, TransactWriteItems > 100 actions, BatchGetItem > 100 keys; SNS messages > 256 KiB;
  Query/Scan pages stop at 1 MB with a LastEvaluatedKey (moto).
- let through, refused here: KMS Sign/Verify of a message > 4,096 bytes, BatchWriteItem > 25
  requests, TransactWriteItems > 4 MB, SQS messages with > 10 attributes (which is also how an
  SNS raw delivery to SQS of such a message gets discarded, as AWS does).
- wrong the other way, corrected here: DynamoDB items refused from 405,000 bytes (AWS: 400 KB =
  409,600 bytes); SQS queues default to 256 KiB messages (AWS: 1 MiB since 2025).
- let through, refused here: DynamoDB numbers outside Number's range or precision (moto stores
  them, then fails every Query of their partition with decimal.Overflow, a 500).
- wrong the other way, corrected here: moto reads numbers back through boto3's client-side
  decimal context (38 digits counting trailing zeros, exponents -128..126), so a number AWS
  stores, e.g. 2.08E+79 written in full as 80 digits, fails every Query with a
  ProjectionExpression over its item (decimal.Rounded, a 500).
- Lambda's 6 MB synchronous response: local_executor.py (where the response arrives).
"""

from decimal import Decimal, InvalidOperation

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response

KIB = 1024

# AWS: "Messages can be 0-4096 bytes. To sign a larger message, provide a message digest."
# https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html (and API_Verify.html: "a raw
# message of up to 4096 bytes"); the Message member's length constraint in the API model.
KMS_MAX_MESSAGE = 4096

# AWS: "A single call to BatchWriteItem can transmit up to 16MB of data over the network,
# consisting of up to 25 item put or delete operations."
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
DDB_BATCH_WRITE_MAX = 25

# AWS: "The aggregate size of the items in the transaction cannot exceed 4 MB."
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
# DynamoDB's units are binary: "1 KB = 1024 bytes, 1 MB = 1024 KB"
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html
DDB_TRANSACTION_MAX_BYTES = 4 * KIB * KIB

# AWS: "The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary
# length (UTF-8 length) and attribute value lengths (again binary length)."
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
DDB_ITEM_MAX_BYTES = 400 * KIB

# AWS: "A message can contain up to 10 metadata attributes."
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
SQS_MAX_ATTRIBUTES = 10

# AWS: MaximumMessageSize "Valid values: An integer from 1,024 bytes (1 KiB) to 1,048,576 bytes
# (1 MiB). Default: 1,048,576 bytes (1 MiB)."
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
SQS_DEFAULT_MAX_MESSAGE = 1024 * KIB

# AWS: "Numbers can have up to 38 digits of precision. Exceeding this results in an exception."
# "Positive range: 1E-130 to 9.9999999999999999999999999999999999999E+125", negative alike.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
DDB_NUMBER_DIGITS = 38
DDB_NUMBER_MAX_EXPONENT = 125
DDB_NUMBER_MIN_EXPONENT = -130


def _validation(message: str) -> CommonServiceException:
    return CommonServiceException("ValidationException", message, status_code=400, sender_fault=True)


def attribute_value_size(value: dict) -> int:
    """Size of one DynamoDB attribute value, by the rules of
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
    (strings and binaries by length, numbers ~1 byte per 2 digits + 1, containers 3 bytes + their
    elements, 1 byte per element overhead)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(v)
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "NS":
        return sum(attribute_value_size({"N": n}) for n in v)
    if kind == "L":
        return 3 + sum(attribute_value_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_value_size(e) + 1 for k, e in v.items())
    return 0


def number_problem(text: str) -> str | None:
    """AWS's refusal of the Number `text`, or None when DynamoDB stores it (or it is not a
    number at all, which moto already refuses)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number.is_zero():
        return None
    # Significant digits without leading or trailing zeros; `adjusted()` is the exponent of
    # the leading digit, independent of the decimal context's precision.
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > DDB_NUMBER_DIGITS:
        return "Attempting to store more than 38 significant digits in a Number"
    if number.adjusted() > DDB_NUMBER_MAX_EXPONENT:
        return "Number overflow. Attempting to store a number with magnitude larger than supported range"
    if number.adjusted() < DDB_NUMBER_MIN_EXPONENT:
        return "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    return None


def check_numbers(value) -> None:
    """Refuses, as AWS does, a write whose attribute values hold a Number DynamoDB cannot store."""
    if not isinstance(value, dict):
        return
    for kind, v in value.items():
        if kind == "N":
            problem = number_problem(v)
            if problem:
                raise _validation(problem)
        elif kind == "NS":
            for n in v:
                check_numbers({"N": n})
        elif kind == "L":
            for e in v:
                check_numbers(e)
        elif kind == "M":
            for e in v.values():
                check_numbers(e)


def _written_values(body: dict) -> list:
    """The attribute values a PutItem, UpdateItem or transaction action writes or compares."""
    return list((body.get("Item") or {}).values()) + list(
        (body.get("ExpressionAttributeValues") or {}).values())


def item_size(item: dict | None) -> int:
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in (item or {}).items())


def check_request(chain: HandlerChain, context: RequestContext, response: Response):
    if not context.service or not context.operation:
        return
    service, op = context.service.service_name, context.operation.name
    req = context.service_request or {}

    if service == "kms" and op in ("Sign", "Verify"):
        message = req.get("Message") or b""
        if len(message) > KMS_MAX_MESSAGE:
            raise _validation(
                "1 validation error detected: Value at 'message' failed to satisfy constraint: "
                f"Member must have length less than or equal to {KMS_MAX_MESSAGE}")

    elif service == "dynamodb" and op in ("PutItem", "UpdateItem"):
        for value in _written_values(req):
            check_numbers(value)

    elif service == "dynamodb" and op == "BatchWriteItem":
        items = req.get("RequestItems") or {}
        for writes in items.values():
            for write in writes:
                for value in ((write.get("PutRequest") or {}).get("Item") or {}).values():
                    check_numbers(value)
        for table, writes in items.items():
            if len(writes) > DDB_BATCH_WRITE_MAX:
                raise _validation(
                    f"1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                    f"Map value must satisfy constraint: [Member must have length less than or equal to "
                    f"{DDB_BATCH_WRITE_MAX}, Member must have length greater than or equal to 1]")
        if sum(len(w) for w in items.values()) > DDB_BATCH_WRITE_MAX:
            raise _validation("Too many items requested for the BatchWriteItem call")

    elif service == "dynamodb" and op == "TransactWriteItems":
        total = 0
        for entry in req.get("TransactItems") or []:
            for body in entry.values():
                for value in _written_values(body):
                    check_numbers(value)
                total += item_size(body.get("Item") or body.get("Key"))
                total += sum(attribute_value_size(v) for v in (body.get("ExpressionAttributeValues") or {}).values())
        if total > DDB_TRANSACTION_MAX_BYTES:
            raise _validation("Transaction request cannot be larger than 4 MB")

    elif service == "sqs" and op in ("SendMessage", "SendMessageBatch"):
        entries = req.get("Entries") if op == "SendMessageBatch" else [req]
        for entry in entries or []:
            count = len(entry.get("MessageAttributes") or {})
            if count > SQS_MAX_ATTRIBUTES:
                raise CommonServiceException(
                    "InvalidParameterValue",
                    f"Number of message attributes [{count}] exceeds the allowed maximum [{SQS_MAX_ATTRIBUTES}].",
                    status_code=400, sender_fault=True)


def patch_providers() -> None:
    """Limits that live inside the providers' models rather than in the request."""
    from localstack.services.sqs import constants as sqs_constants

    sqs_constants.DEFAULT_MAXIMUM_MESSAGE_SIZE = SQS_DEFAULT_MAX_MESSAGE

    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type

    def __setitem__(self, key, value):  # moto's LimitedSizeDict with AWS's bound
        sizes = [i.size() if type(i) is dynamo_type.DynamoType else dynamo_type.bytesize(str(i))
                 for i in (list(self.keys()) + list(self.values()))]
        new = dynamo_type.bytesize(key) + (
            value.size() if type(value) is dynamo_type.DynamoType else dynamo_type.bytesize(str(value)))
        if sum(sizes) + new > DDB_ITEM_MAX_BYTES:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    dynamo_type.LimitedSizeDict.__setitem__ = __setitem__

    # Numbers read exactly: what reached the table passed check_numbers (AWS's range and 38
    # significant digits, trailing zeros not counted), so moto's projections must not apply
    # boto3's stricter client context to it.
    def _deserialize_n(value):
        return Decimal(value)

    def _serialize_n(value):
        number = Decimal(value)
        if not number.is_finite():
            raise TypeError("Infinity and NaN not supported")
        return str(number)

    dynamo_type.deserializer._deserialize_n = _deserialize_n
    dynamo_type.serializer._serialize_n = _serialize_n
