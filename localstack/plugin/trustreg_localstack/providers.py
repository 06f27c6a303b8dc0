"""DynamoDB and DynamoDB Streams served by moto (in-process).

LocalStack's default DynamoDB provider downloads Java and DynamoDB Local at first use, which
cannot work on machines that only reach package registries. An empty API class dispatched with
MotoFallbackDispatcher sends every operation to moto's in-memory backend instead.
Selected with PROVIDER_OVERRIDE_DYNAMODB=moto and PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto.
"""

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """No overrides: every operation falls through to moto."""


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """No overrides: moto's streams backend reads the records moto's tables keep."""


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto():
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto():
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(
        MotoDynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher
    )
