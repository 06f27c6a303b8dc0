"""Fault injection for the tests: an AWS call of a named function throttled, refused as a
transaction conflict, or the function's process killed before or after the call.

Armed at run time over LocalStack's gateway (tests share one LocalStack, so nothing is fixed
at start):
- `POST /_trustreg/faults` with {function, service, operation, nth (1-based, default 1),
  times (default 1), action ("throttle" | "conflict" | "kill-before" | "kill-after"),
  code (throttle only: the error code, default the service's own), tag (optional: the call
  counts only while the invocation's event contains this string, e.g. a header only the
  arming test sends, so parallel tests' calls to the same function are not hit)}
  -> 201 {id, ...}
- `GET /_trustreg/faults/<id>` -> the fault with `seen` (matching calls counted), `fired`
  (one record per call it affected) and `done` (consumed: it affects no more calls).
- `DELETE /_trustreg/faults/<id>` disarms it (a test's clean-up).
The caller is the assumed-role session of the function (iam.py: the Lambda executor's STS
credentials carry the function's name as session name). Matching calls number 1, 2, ... from
arming; calls nth .. nth+times-1 are affected, then the fault is consumed.
"""

import itertools
import json
import logging
import os
import threading
import time

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Request, Response
from localstack.utils.aws.request_context import extract_access_key_id_from_auth_header

from . import iam

LOG = logging.getLogger("localstack.trustreg.fidelity")

ACTIONS = ("throttle", "conflict", "kill-before", "kill-after")

# Throttling as each service answers it (code, HTTP status; JSON protocols put the code in
# `__type`, SNS's query protocol in `<Error><Code>`).
# KMS: "ThrottlingException ... The request was denied due to request throttling", 400
#   https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#API_Sign_Errors
#   https://repost.aws/knowledge-center/kms-throttlingexception-error ("Status Code: 400;
#   Error Code: ThrottlingException")
# DynamoDB: ProvisionedThroughputExceededException (and ThrottlingException,
#   RequestLimitExceeded), 400, retried by the SDKs
#   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
#   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#API_TransactWriteItems_Errors
# SNS: ThrottledException, "the rate at which requests have been submitted for this action
#   exceeds the limit for your Amazon Web Services account"; on the wire code `Throttled`,
#   HTTP 429 (the service model's error trait, botocore's sns service-2.json)
#   https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html#API_PublishBatch_Errors
#   https://docs.aws.amazon.com/botocore/latest/reference/services/sns/client/exceptions/ThrottledException.html
#   (or the query protocols' common `Throttling`, 400:
#   https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html)
# SQS: RequestThrottled, "the request was denied due to request throttling", 400
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors
_THROTTLE_DEFAULT = {
    "kms": "ThrottlingException",
    "dynamodb": "ProvisionedThroughputExceededException",
    "sns": "Throttled",
    "sqs": "RequestThrottled",
}
_THROTTLE_CODES = {
    "ThrottlingException": ("Rate exceeded", 400),
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.", 400),
    "RequestLimitExceeded": ("Throughput exceeds the current throughput limit for your account.", 400),
    "Throttled": ("Rate exceeded", 429),
    "Throttling": ("Rate exceeded", 400),
    "RequestThrottled": ("Rate exceeded", 400),
}

_faults: dict[str, dict] = {}
_lock = threading.Lock()
_ids = itertools.count(1)


# ------------------------------------------------------------------------------ the endpoint
def _json(status: int, body) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _arm(request: Request) -> Response:
    try:
        spec = json.loads(request.get_data() or b"{}")
        fault = {
            "function": str(spec["function"]),
            "service": str(spec["service"]),
            "operation": str(spec["operation"]),
            "nth": int(spec.get("nth", 1)),
            "times": int(spec.get("times", 1)),
            "action": str(spec["action"]),
            "code": spec.get("code"),
            "tag": spec.get("tag"),
        }
    except (KeyError, ValueError, TypeError) as e:
        return _json(400, {"error": f"bad fault: {e!r}"})
    if fault["action"] not in ACTIONS or fault["nth"] < 1 or fault["times"] < 1:
        return _json(400, {"error": f"action one of {ACTIONS}, nth and times >= 1"})
    if fault["action"] == "throttle":
        fault["code"] = fault["code"] or _THROTTLE_DEFAULT.get(fault["service"], "ThrottlingException")
        if fault["code"] not in _THROTTLE_CODES:
            return _json(400, {"error": f"throttle code one of {list(_THROTTLE_CODES)}"})
    if fault["action"] == "conflict" and (fault["service"], fault["operation"]) != ("dynamodb", "TransactWriteItems"):
        return _json(400, {"error": "conflict is DynamoDB TransactWriteItems' TransactionConflict"})
    with _lock:
        fault.update(id=str(next(_ids)), seen=0, fired=[], done=False)
        _faults[fault["id"]] = fault
        LOG.info("fault armed: %s", fault)
        return _json(201, fault)


def endpoint(request: Request, fault_id: str | None = None) -> Response:
    if fault_id is None:
        if request.method == "POST":
            return _arm(request)
        with _lock:
            return _json(200, list(_faults.values()))
    with _lock:
        fault = _faults.get(fault_id)
        if fault is None:
            return _json(404, {"error": "no such fault"})
        if request.method == "DELETE":
            fault["done"] = True
        return _json(200, fault)


def install_routes() -> None:
    from localstack.services.edge import ROUTER

    ROUTER.add("/_trustreg/faults", endpoint=endpoint, methods=["GET", "POST"])
    ROUTER.add("/_trustreg/faults/<fault_id>", endpoint=endpoint, methods=["GET", "DELETE"])


# ------------------------------------------------------------------------------ the callers
def _socket_inode(client_port: int, server_port: int) -> str | None:
    """The inode of the client's end of a loopback TCP connection (from /proc/net/tcp*)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, remote = cols[1], cols[2]
                    if (int(local.rsplit(":", 1)[1], 16) == client_port
                            and int(remote.rsplit(":", 1)[1], 16) == server_port):
                        return cols[9]
        except OSError:
            continue
    return None


def _owns_socket(pid: int, inode: str) -> bool:
    target = f"socket:[{inode}]"
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    except OSError:
        pass
    return False


def _caller(context: RequestContext, function: str):
    """The execution environment whose bootstrap sent this request: the one owning the TCP
    connection (several environments of one function run side by side). None if unknown."""
    from ..local_executor import running

    envs = running(function)
    environ = context.request.environ
    try:
        client_port = int(environ.get("REMOTE_PORT") or 0)
        server_port = int(environ.get("SERVER_PORT") or 0)
    except ValueError:
        client_port = server_port = 0
    if not server_port:
        from localstack import config

        server_port = config.GATEWAY_LISTEN[0].port
    if client_port and server_port:
        inode = _socket_inode(client_port, server_port)
        if inode:
            for env in envs:
                pid = env.pid()
                if pid and _owns_socket(pid, inode):
                    return env
    busy = [env for env in envs if env.current is not None]
    return busy[0] if len(busy) == 1 else None


def _function_of(context: RequestContext) -> str | None:
    access_key = extract_access_key_id_from_auth_header(context.request.headers)
    if not access_key:
        return None
    session = iam._session_of(access_key, context.account_id)
    return session[1] if session else None


# ------------------------------------------------------------------------------ the handlers
def _error(fault: dict, context: RequestContext) -> Exception:
    if fault["action"] == "conflict":
        # AWS: the whole transaction is cancelled; each item has a reason, `TransactionConflict`
        # for the item another transaction holds, `None` for the others.
        # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#API_TransactWriteItems_Errors
        from localstack.aws.api.dynamodb import TransactionCanceledException

        count = len((context.service_request or {}).get("TransactItems") or []) or 1
        reasons = [{"Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item"}] + [{"Code": "None"}] * (count - 1)
        codes = ", ".join(r["Code"] for r in reasons)
        return TransactionCanceledException(
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            CancellationReasons=reasons)
    code = fault["code"]
    message, status = _THROTTLE_CODES[code]
    return CommonServiceException(code, message, status_code=status, sender_fault=True)


def _match(context: RequestContext) -> tuple[dict, dict] | None:
    """The armed fault this call is one of the affected calls of, with the firing record."""
    if not context.service or not context.operation or not _faults:
        return None
    service, operation = context.service.service_name, context.operation.name
    with _lock:
        candidates = [f for f in _faults.values() if not f["done"]
                      and (f["service"], f["operation"]) == (service, operation)]
    if not candidates:
        return None
    function = _function_of(context)
    candidates = [f for f in candidates if f["function"] == function]
    if not candidates:
        return None
    env = _caller(context, function)
    for fault in candidates:
        if fault["tag"] and (env is None or fault["tag"] not in env.current_payload):
            continue
        with _lock:
            if fault["done"]:
                continue
            fault["seen"] += 1
            if fault["seen"] < fault["nth"]:
                continue
            record = {"t": round(time.time(), 3), "call": fault["seen"], "action": fault["action"],
                      "pid": env.pid() if env else None}
            fault["fired"].append(record)
            if len(fault["fired"]) >= fault["times"]:
                fault["done"] = True
            return fault, {"record": record, "env": env}
    return None


def inject(chain: HandlerChain, context: RequestContext, response: Response):
    hit = _match(context)
    if hit is None:
        return
    fault, info = hit
    LOG.info("fault %s fires on %s %s.%s (%s)", fault["id"], fault["function"], fault["service"],
             fault["operation"], fault["action"])
    if fault["action"] in ("throttle", "conflict"):
        raise _error(fault, context)
    env = info["env"]
    if env is None:
        info["record"]["killed"] = None
        LOG.warning("fault %s: no process found for %s", fault["id"], fault["function"])
        return
    if fault["action"] == "kill-before":
        info["record"]["killed"] = env.kill_now()
        # The caller is gone: the answer goes nowhere, and the call is not served.
        raise CommonServiceException("ServiceUnavailable", "killed by fault injection", status_code=503)
    context.trustreg_kill_after = (env, info["record"])  # kill-after: once the provider answered


def kill_after(chain: HandlerChain, context: RequestContext, response: Response):
    pending = getattr(context, "trustreg_kill_after", None)
    if pending:
        env, record = pending
        record["killed"] = env.kill_now()
        record["status"] = response.status_code
