"""What IAM checks for one API request: (action, resource ARN, condition keys) triples.

Follows the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)
for the operations this project uses; any other operation is checked as `<prefix>:<Operation>`
on `*`, which is right for the many list/describe calls that take no resource and at worst
strict for the rest (a denial there shows up in the report and in the tests).
"""

from dataclasses import dataclass, field
from urllib.parse import urlparse


@dataclass
class Check:
    action: str
    resource: str
    keys: dict = field(default_factory=dict)  # service-specific condition keys


# LocalStack service name -> IAM action prefix.
PREFIX = {"dynamodbstreams": "dynamodb"}

# Operations AWS lets every principal call (no IAM permission exists for them).
UNCHECKED = {("sts", "GetCallerIdentity")}


def checks(service: str, operation: str, req: dict, account: str, region: str, partition="aws") -> list[Check]:
    fn = _BY_SERVICE.get(service)
    if fn is not None:
        found = fn(operation, req or {}, account, region, partition)
        if found is not None:
            return found
    return [Check(f"{PREFIX.get(service, service)}:{operation}", "*")]


# ---------------------------------------------------------------- DynamoDB
def _table_arn(name: str, account, region, partition) -> str:
    if name.startswith("arn:"):
        return name  # the API also takes table ARNs
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}"


def _leading_keys(table_arn: str, item_or_key: dict | None) -> dict:
    """dynamodb:LeadingKeys: the partition key value, from the table's key schema in moto."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        _, _, _, region, account, rest = table_arn.split(":", 5)
        table = dynamodb_backends[account][region].get_table(rest.split("/")[1])
        value = (item_or_key or {}).get(table.hash_key_attr)
        return {"dynamodb:LeadingKeys": [next(iter(value.values()))]} if value else {}
    except Exception:  # noqa: BLE001 - no such table: DynamoDB answers that after authorization
        return {}


_TX_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(op, req, account, region, partition):
    arn = lambda name: _table_arn(name, account, region, partition)  # noqa: E731
    if op == "TransactWriteItems":
        # IAM has no TransactWriteItems action: each item is authorized as its own action.
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
        out = []
        for item in req.get("TransactItems") or []:
            for kind, body in item.items():
                table = arn(body["TableName"])
                out.append(Check(f"dynamodb:{_TX_WRITE.get(kind, kind)}", table,
                                 _leading_keys(table, body.get("Item") or body.get("Key"))))
        return out
    if op == "TransactGetItems":
        return [Check("dynamodb:GetItem", arn(i["Get"]["TableName"]),
                      _leading_keys(arn(i["Get"]["TableName"]), i["Get"].get("Key")))
                for i in req.get("TransactItems") or [] if "Get" in i]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{op}", arn(name)) for name in (req.get("RequestItems") or {})]
    if op in ("Query", "Scan") and req.get("IndexName"):
        return [Check(f"dynamodb:{op}", f"{arn(req['TableName'])}/index/{req['IndexName']}")]
    if "TableName" in req:
        table = arn(req["TableName"])
        return [Check(f"dynamodb:{op}", table, _leading_keys(table, req.get("Item") or req.get("Key")))]
    if "ResourceArn" in req:
        return [Check(f"dynamodb:{op}", req["ResourceArn"])]
    return None


def _dynamodbstreams(op, req, account, region, partition):
    if "StreamArn" in req:
        return [Check(f"dynamodb:{op}", req["StreamArn"])]
    if op == "GetRecords" and req.get("ShardIterator"):
        # moto's shard iterators start with the stream ARN: "<stream arn>|1|<id>".
        return [Check("dynamodb:GetRecords", req["ShardIterator"].split("|", 1)[0])]
    if op == "ListStreams":
        return [Check("dynamodb:ListStreams", "*")]
    return None


# ---------------------------------------------------------------- KMS
def _kms_key_arn(key_id: str, account, region, partition) -> str:
    """Aliases resolve to their key: KMS authorizes key operations on the key's ARN.
    https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html"""
    try:
        from localstack.services.kms.provider import KmsProvider
        from localstack.services.kms.utils import is_valid_key_arn

        if key_id.startswith("arn:") and ":key/" in key_id and is_valid_key_arn(key_id):
            return key_id
        if key_id.startswith("arn:"):  # alias ARN, maybe of another account/region
            parts = key_id.split(":")
            account, region = parts[4], parts[3]
        resolved = KmsProvider._get_key_id_from_any_id(account, region, key_id)
        return f"arn:{partition}:kms:{region}:{account}:key/{resolved}"
    except Exception:  # noqa: BLE001 - unknown key: KMS answers NotFound after authorization
        if key_id.startswith("arn:"):
            return key_id
        return f"arn:{partition}:kms:{region}:{account}:{key_id if key_id.startswith('alias/') else 'key/' + key_id}"


def _kms(op, req, account, region, partition):
    key_id = req.get("KeyId") or req.get("DestinationKeyId")
    if op == "Decrypt" and not key_id and req.get("CiphertextBlob"):
        try:  # symmetric ciphertexts name their key in LocalStack's header
            from localstack.services.kms.models import deserialize_ciphertext_blob

            key_id = deserialize_ciphertext_blob(req["CiphertextBlob"]).key_id
        except Exception:  # noqa: BLE001
            key_id = None
    if not key_id:
        return None
    keys = {}
    if req.get("MessageType"):
        keys["kms:MessageType"] = req["MessageType"]
    if req.get("SigningAlgorithm"):
        keys["kms:SigningAlgorithm"] = req["SigningAlgorithm"]
    for k, v in (req.get("EncryptionContext") or {}).items():
        keys[f"kms:EncryptionContext:{k}"] = v
    if req.get("EncryptionContext"):
        keys["kms:EncryptionContextKeys"] = list(req["EncryptionContext"])
    return [Check(f"kms:{op}", _kms_key_arn(key_id, account, region, partition), keys)]


# ---------------------------------------------------------------- SNS
def _sns(op, req, account, region, partition):
    if op == "PublishBatch":
        return [Check("sns:Publish", req["TopicArn"])]
    if op == "CreateTopic":
        # Authorized on the topic it makes; with tags, TagResource on it as well.
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
        # https://docs.aws.amazon.com/sns/latest/dg/sns-tags.html
        topic = f"arn:{partition}:sns:{region}:{account}:{req.get('Name', '')}"
        made = [Check("sns:CreateTopic", topic)]
        if req.get("Tags"):
            made.append(Check("sns:TagResource", topic))
        return made
    if "TopicArn" in req:
        keys = {}
        if op == "Subscribe":
            keys = {"sns:Protocol": req.get("Protocol"), "sns:Endpoint": req.get("Endpoint")}
            keys = {k: v for k, v in keys.items() if v is not None}
        return [Check(f"sns:{op}", req["TopicArn"], keys)]
    if "TargetArn" in req:
        return [Check(f"sns:{op}", req["TargetArn"])]
    if "SubscriptionArn" in req:
        # Subscription actions are authorized on the topic: "<topic arn>:<subscription id>".
        return [Check(f"sns:{op}", req["SubscriptionArn"].rsplit(":", 1)[0])]
    return None


# ---------------------------------------------------------------- SQS
# Batch actions need the permission of the single action.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def queue_arn(url: str, account, region, partition="aws") -> str:
    """Queue ARN from any URL form LocalStack hands out:
    http://sqs.<region>.localhost.localstack.cloud:4566/<account>/<name>,
    http://localhost:4566/<account>/<name>, http://localhost:4566/queue/<region>/<account>/<name>."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    name, owner = parts[-1], parts[-2] if len(parts) >= 2 else account
    host = parsed.hostname or ""
    if host.startswith("sqs.") and host.count(".") >= 2:
        region = host.split(".")[1]
    elif len(parts) >= 4 and parts[0] == "queue":
        region = parts[1]
    return f"arn:{partition}:sqs:{region}:{owner}:{name}"


def _sqs(op, req, account, region, partition):
    action = f"sqs:{_SQS_BATCH.get(op, op)}"
    if req.get("QueueUrl"):
        return [Check(action, queue_arn(req["QueueUrl"], account, region, partition))]
    if op == "GetQueueUrl":
        owner = req.get("QueueOwnerAWSAccountId") or account
        return [Check(action, f"arn:{partition}:sqs:{region}:{owner}:{req['QueueName']}")]
    if op == "CreateQueue":
        return [Check(action, f"arn:{partition}:sqs:{region}:{account}:{req['QueueName']}")]
    return None


# ---------------------------------------------------------------- S3
_S3_ACTION = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjects": "ListBucket",
              "ListObjectsV2": "ListBucket", "CopyObject": "PutObject", "DeleteObjects": "DeleteObject",
              "GetObjectAttributes": "GetObject", "CreateMultipartUpload": "PutObject",
              "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject"}


def _s3(op, req, account, region, partition):
    bucket = req.get("Bucket")
    if not bucket:
        return None
    action = f"s3:{_S3_ACTION.get(op, op)}"
    if req.get("Key"):
        return [Check(action, f"arn:{partition}:s3:::{bucket}/{req['Key']}")]
    return [Check(action, f"arn:{partition}:s3:::{bucket}")]


# ---------------------------------------------------------------- Lambda, Logs
def _lambda(op, req, account, region, partition):
    name = req.get("FunctionName")
    if not name:
        return None
    arn = name if name.startswith("arn:") else f"arn:{partition}:lambda:{region}:{account}:function:{name}"
    action = "lambda:InvokeFunction" if op in ("Invoke", "InvokeAsync", "InvokeWithResponseStream") else f"lambda:{op}"
    return [Check(action, arn)]


def _logs(op, req, account, region, partition):
    group = req.get("logGroupName")
    if not group:
        return None
    arn = f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
    stream = req.get("logStreamName")
    return [Check(f"logs:{op}", f"{arn}:log-stream:{stream}" if stream else arn)]


_BY_SERVICE = {"dynamodb": _dynamodb, "dynamodbstreams": _dynamodbstreams, "kms": _kms, "sns": _sns,
               "sqs": _sqs, "s3": _s3, "lambda": _lambda, "logs": _logs}
