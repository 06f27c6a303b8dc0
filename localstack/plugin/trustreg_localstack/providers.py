"""DynamoDB and DynamoDB Streams served by moto (in-process).

LocalStack's default DynamoDB provider downloads Java and DynamoDB Local at first use, which
cannot work on machines that only reach package registries. An empty API class dispatched with
MotoFallbackDispatcher sends every operation to moto's in-memory backend instead.
Selected with PROVIDER_OVERRIDE_DYNAMODB=moto and PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto.

moto's DynamoDB backend is not thread-safe (concurrent TransactWriteItems fail with "dictionary
changed size during iteration"), while LocalStack serves requests on many threads: every call
into it is serialized by one lock, shared with Streams, which reads the same tables. DynamoDB
itself serializes writes per item, so callers observe the same semantics.
"""

import threading

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """No overrides: every operation falls through to moto."""


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """No overrides: moto's streams backend reads the records moto's tables keep."""


_MOTO_LOCK = threading.RLock()


def _serialized_moto_dispatcher(provider):
    from localstack.aws.forwarder import ForwardingFallbackDispatcher
    from localstack.services.moto import _proxy_moto

    from . import query_index, transactions

    transactions.install()
    query_index.install()

    def proxy(*args, **kwargs):
        with _MOTO_LOCK:
            return _proxy_moto(*args, **kwargs)

    return ForwardingFallbackDispatcher(provider, proxy)


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto():
    return Service.for_provider(
        MotoDynamoDBProvider(), dispatch_table_factory=_serialized_moto_dispatcher
    )


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto():
    return Service.for_provider(
        MotoDynamoDBStreamsProvider(), dispatch_table_factory=_serialized_moto_dispatcher
    )
