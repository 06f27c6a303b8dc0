"""Entry point of the local-process Lambda executor (LAMBDA_RUNTIME_EXECUTOR=local).

Kept separate from the executor module so LocalStack can list plugins without importing it.
"""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local"

    def load(self, *args, **kwargs):
        from trustreg_localstack.local_executor import LocalRuntimeExecutor

        return LocalRuntimeExecutor
