"""IAM enforcement for calls made with an assumed role's credentials.

LocalStack community does not evaluate IAM (ENFORCE_IAM is a paid feature), so a function
could call anything and a missing grant in infra/template.yaml would only show on AWS. This
request handler runs after LocalStack parsed the request and before the provider serves it:
- the caller is looked up by the request's access key id among moto's STS sessions (the Lambda
  executor and the event source mappings get AssumeRole credentials of the function's role);
  any other key (the root `test` key of the tests and deploy scripts, LocalStack's internal
  clients) stays unrestricted, as an account root is on AWS;
- the role's policies are read from LocalStack's IAM store (moto) at every call, inline and
  attached, so a stack update takes effect at once;
- each (action, resource) of the request (resources.py) is evaluated (policy.py), recorded
  (recorder.py), and the first denial answers with the service's own error.
Not modelled: resource policies (key, queue, topic, bucket policies: same-account grants in
this project's template come from the role), permission boundaries, session policies, SCPs.
"""

import logging
import threading

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response
from localstack.utils.aws.request_context import extract_access_key_id_from_auth_header

from . import policy, recorder, resources

LOG = logging.getLogger("localstack.trustreg.fidelity")

# How each service answers a denial (error code, HTTP status), as AWS does.
# DynamoDB/KMS/Logs: AccessDeniedException 400; SQS (JSON protocol): AccessDeniedException 403,
# which LocalStack's serializer also sends as `x-amzn-query-error: AccessDenied;Sender`;
# SNS: AuthorizationError 403; S3: AccessDenied 403; Lambda: AccessDeniedException 403.
_DENIAL = {
    "dynamodb": ("AccessDeniedException", 400),
    "dynamodbstreams": ("AccessDeniedException", 400),
    "kms": ("AccessDeniedException", 400),
    "logs": ("AccessDeniedException", 400),
    "sqs": ("AccessDeniedException", 403),
    "sns": ("AuthorizationError", 403),
    "s3": ("AccessDenied", 403),
    "lambda": ("AccessDeniedException", 403),
}
_DEFAULT_DENIAL = ("AccessDenied", 403)

_sessions: dict[str, tuple[str, str] | None] = {}  # access key id -> (role arn, session name)
_sessions_lock = threading.Lock()


def _session_of(access_key_id: str, account_id: str):
    """The assumed role behind a temporary access key, from moto's STS state (cached: keys
    are random and never change owner; an unknown key is never an assumed role later)."""
    with _sessions_lock:
        if access_key_id in _sessions:
            return _sessions[access_key_id]
    from moto.sts.models import sts_backends

    found = None
    for account in dict.fromkeys([account_id, *list(sts_backends.keys())]):
        for partition in ("aws",):
            role = sts_backends[account][partition].get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                found = (role.role_arn, role.session_name)
                break
        if found:
            break
    if found or not access_key_id.startswith(("ASIA", "LSIA")):
        with _sessions_lock:  # keys that look temporary but are unknown yet are looked up again
            _sessions[access_key_id] = found
    return found


def role_policies(role_arn: str) -> list[tuple[str, str]]:
    """Inline and attached (default version) policy documents of a role, as deployed."""
    from moto.iam.models import iam_backends

    account = role_arn.split(":")[4]
    name = role_arn.split("/")[-1]
    try:
        role = iam_backends[account]["aws"].get_role(name)
    except Exception:  # noqa: BLE001 - role deleted (stack deleted): nothing is allowed
        return []
    out = [(policy_name, doc) for policy_name, doc in role.policies.items()]
    for arn, managed in role.managed_policies.items():
        default = next((v for v in managed.versions if v.is_default), None)
        if default is not None:
            out.append((arn.split("/")[-1], default.document))
    return out


def _principal(role_arn: str, session: str) -> str:
    account = role_arn.split(":")[4]
    return f"arn:aws:sts::{account}:assumed-role/{role_arn.split('/')[-1]}/{session}"


def _deny(service: str, principal: str, action: str, resource: str, decision: str):
    code, status = _DENIAL.get(service, _DEFAULT_DENIAL)
    shown = action
    if service == "sns":
        shown = "SNS:" + action.split(":", 1)[1]  # SNS spells its prefix in capitals
    why = ("with an explicit deny in an identity-based policy" if decision == policy.EXPLICIT_DENY
           else f"because no identity-based policy allows the {shown} action")
    message = f"User: {principal} is not authorized to perform: {shown} on resource: {resource} {why}"
    return CommonServiceException(code, message, status_code=status, sender_fault=True)


def enforce(chain: HandlerChain, context: RequestContext, response: Response):
    if not context.service or not context.operation:
        return
    service, operation = context.service.service_name, context.operation.name
    if (service, operation) in resources.UNCHECKED:
        return
    access_key = extract_access_key_id_from_auth_header(context.request.headers)
    if not access_key:
        return
    session = _session_of(access_key, context.account_id)
    if session is None:
        return  # root/test credentials, LocalStack's own clients: unrestricted
    role_arn, session_name = session
    region, account = context.region, context.account_id
    internal = bool(context.is_internal_call)
    source_arn = (context.internal_request_params or {}).get("source_arn") if internal else None
    common = {
        "aws:SecureTransport": "true",  # SDKs reach AWS over TLS; LocalStack's loopback is plain HTTP
        "aws:PrincipalArn": role_arn,
        "aws:PrincipalAccount": role_arn.split(":")[4],
        "aws:RequestedRegion": region,
    }
    if source_arn:
        common["aws:SourceArn"] = source_arn
    policies = role_policies(role_arn)
    for check in resources.checks(service, operation, context.service_request, account, region):
        try:
            decision, grant = policy.evaluate(policies, check.action, check.resource, {**common, **check.keys})
        except policy.UnsupportedCondition as e:
            LOG.warning("IAM: condition operator %s not modelled; treating %s as denied", e, check.action)
            decision, grant = policy.IMPLICIT_DENY, None
        # LocalStack's Lambda log writer asks for logs:CreateLogGroup with the function's role
        # before its first stream and gives up when refused; AWS's writes to the existing group
        # with CreateLogStream/PutLogEvents alone (what the template grants). Recorded, not enforced.
        enforced = not (internal and check.action == "logs:CreateLogGroup")
        recorder.record(
            role=role_arn.split("/")[-1], role_arn=role_arn, session=session_name, service=service,
            operation=operation, action=check.action, resource=check.resource,
            allowed=decision == policy.ALLOW, decision=decision, grant=grant, internal=internal,
            enforced=enforced,
        )
        if decision != policy.ALLOW and enforced:
            LOG.info("IAM: denied %s %s on %s (%s)", role_arn, check.action, check.resource, decision)
            raise _deny(service, _principal(role_arn, session_name), check.action, check.resource, decision)
