#!/usr/bin/env python3
"""Deploy one trustreg registry stack (infra/template.yaml) to LocalStack or AWS.

    source localstack/env   # LocalStack; leave AWS_ENDPOINT_URL unset for AWS
    "$TRUSTREG_LS_PYTHON" infra/deploy.py --stack-name trustreg-p07 --reg-id P07 \
        --path IN1.HLT.P07 --type primary --domains health,finance \
        --bin-dir target/lambda --out .trustreg/stacks/p07.json

Steps: create the artifact bucket if missing; zip each function binary `<bin-dir>/<name>` as
`bootstrap` under a content-hash key and upload it; expand the per-domain topics of the template;
create or update the stack; wait; upload the built portal (portal/dist, when it exists) with a
config.json naming the stack's API to the stack's portal bucket (infra/portal.py); write the
outputs as JSON. Re-running with unchanged inputs succeeds ("No updates are to be performed").
Needs boto3 and PyYAML (both in the LocalStack venv).
"""

import argparse
import hashlib
import io
import json
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from portal import portal_url, upload_portal

HERE = Path(__file__).resolve().parent
FUNCTIONS = {"register": "RegisterCodeKey", "notify": "NotifyCodeKey", "interrogate": "InterrogateCodeKey", "admin": "AdminCodeKey", "exchange": "ExchangeCodeKey"}  # binary name -> template parameter of its S3 key
LOCAL = bool(os.environ.get("AWS_ENDPOINT_URL"))  # boto3 sends everything there when set


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack-name", required=True)
    p.add_argument("--reg-id", required=True, help="RegID, [A-Z0-9]{3}")
    p.add_argument("--path", required=True, help="registry path, e.g. IN1.HLT.P07")
    p.add_argument("--type", required=True, choices=["primary", "sectoral", "geographical"])
    p.add_argument("--domains", required=True, help="comma-separated trust domains")
    p.add_argument("--bin-dir", required=True, type=Path, help="folder with one binary per function")
    p.add_argument("--arch", choices=["x86_64", "arm64"], default="x86_64" if LOCAL else "arm64")
    p.add_argument("--out", type=Path, help="write the stack outputs here (JSON)")
    p.add_argument("--name-suffix", help="suffix of global names (default: from the stack name)")
    p.add_argument("--bucket", help="artifact bucket (default: trustreg-artifacts-<account>-<region>)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--admin-keys", type=Path,
                   help='administrators\' public keys: JSON {"<name>": <P-256 public JWK>} (trustreg admin keygen)')
    p.add_argument("--rate-limits", default="",
                   help="abuse limits per caller and minute, e.g. challenges=120,sign_ups=10,"
                        "logins=30,anonymous_lookups=300 (the template's defaults when empty)")
    p.add_argument("--allow-loopback-endpoints", action="store_true",
                   help="test stacks only: subscriptions may name loopback endpoints")
    p.add_argument("--linked-accounts", default="",
                   help="comma-separated AWS accounts of linked registries that may send to the inbox")
    p.add_argument("--template", type=Path, default=HERE / "template.yaml")
    p.add_argument("--portal-dist", type=Path, default=HERE.parent / "portal" / "dist",
                   help="the built portal (scripts/build-portal): uploaded to the stack's portal "
                        "bucket with a config.json naming the stack's API, when it exists")
    a = p.parse_args()

    # Default suffix: the stack name without a leading "trustreg-" (trustreg-p07 -> p07).
    # Checked here too: LocalStack 4.7.0 does not enforce AllowedPattern/AllowedValues.
    if not re.fullmatch(r"[A-Z0-9]{3}", a.reg_id):
        p.error(f"--reg-id {a.reg_id!r}: expected [A-Z0-9]{{3}}")
    if not re.fullmatch(r"[A-Z0-9]{3}(\.[A-Z0-9]{3})*", a.path) or a.path.split(".")[-1] != a.reg_id:
        p.error(f"--path {a.path!r}: expected RegIDs joined by '.', ending with {a.reg_id}")
    # The path is the chain from the apex (Y.3059 6.1 a): a geographical registry is the apex,
    # a sectoral one sits under one geographical, a primary under one sectoral.
    depth = {"geographical": 1, "sectoral": 2, "primary": 3}[a.type]
    if len(a.path.split(".")) != depth:
        p.error(f"--path {a.path!r}: a {a.type} registry's path has {depth} RegID(s)")
    suffix = a.name_suffix or re.sub(r"[^a-z0-9-]+", "-", a.stack_name.lower().removeprefix("trustreg-")).strip("-")[:31]
    domains = [d.strip() for d in a.domains.split(",") if d.strip()]
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    # LocalStack: path-style S3 (*.localhost.localstack.cloud does not resolve everywhere).
    s3 = session.client("s3", region_name=region,
                        config=Config(s3={"addressing_style": "path"}) if LOCAL else None)
    cfn = session.client("cloudformation", region_name=region)
    account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    bucket = a.bucket or f"trustreg-artifacts-{account}-{region}"

    t0 = time.time()
    ensure_bucket(s3, bucket, region)
    params = {
        "RegId": a.reg_id, "RegistryPath": a.path, "RegistryType": a.type,
        "TrustDomains": ",".join(domains), "NameSuffix": suffix, "ArtifactBucket": bucket,
        "Architecture": a.arch, "LogLevel": a.log_level, "LinkedAccounts": a.linked_accounts,
        "AllowLoopbackEndpoints": "true" if a.allow_loopback_endpoints else "false",
    }
    if a.rate_limits:
        params["RateLimits"] = a.rate_limits
    if a.admin_keys:
        try:
            keys = json.loads(a.admin_keys.read_text())
        except (OSError, ValueError) as e:
            p.error(f"--admin-keys {a.admin_keys}: {e}")
        if not isinstance(keys, dict):
            p.error(f"--admin-keys {a.admin_keys}: expected a JSON object of name -> JWK")
        params["AdminPublicKeys"] = json.dumps(keys, separators=(",", ":"), sort_keys=True)
    for name, param in FUNCTIONS.items():
        params[param] = upload_function(s3, bucket, function_binary(a.bin_dir, name), name)
    body = json.dumps(expand_template(load_template(a.template), domains), separators=(",", ":"))
    template_url = upload_template(s3, bucket, region, body)
    print(f"deploy: {a.stack_name} ({a.reg_id} {a.path}, domains {domains}, suffix {suffix}, {a.arch})")
    ok = deploy_stack(cfn, a.stack_name, template_url, params)
    if not ok:
        return 1
    outputs = stack_outputs(cfn, a.stack_name, domains)
    # The stack's Deployment resource is a snapshot from the stack's creation: a stack update
    # that changed the routes would leave the stage serving the old ones.
    session.client("apigateway", region_name=region).create_deployment(
        restApiId=outputs["ApiId"], stageName=outputs["StageName"],
        description="the routes of the template as deployed")
    if (a.portal_dist / "index.html").is_file() and outputs.get("PortalBucket"):
        api = outputs.get("local_api_url") or outputs["ApiUrl"]
        upload_portal(s3, outputs["PortalBucket"], a.portal_dist, api)
        outputs["portal_url"] = portal_url(outputs, os.environ.get("AWS_ENDPOINT_URL"))
    print(f"deploy: {a.stack_name} ready in {time.time() - t0:.1f}s")
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# ------------------------------------------------------------------------ artifacts
def ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **kwargs)
    print(f"deploy: created bucket {bucket}")


def function_binary(bin_dir: Path, name: str) -> Path:
    """`<bin-dir>/<name>` (host builds), or cargo-lambda's `<bin-dir>/<name>/bootstrap`."""
    nested = bin_dir / name / "bootstrap"
    return nested if nested.is_file() else bin_dir / name


def upload_function(s3, bucket: str, binary: Path, name: str) -> str:
    """Zip `binary` as `bootstrap` (0755) reproducibly and upload it under a content-hash key."""
    if not binary.is_file():
        sys.exit(f"deploy: missing function binary {binary}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))  # fixed: same bytes, same key
        info.external_attr = (0o100755 << 16)  # regular file, rwxr-xr-x
        info.create_system = 3  # unix, so the mode is honoured
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as f:
            z.writestr(info, f.read())
    data = buf.getvalue()
    key = f"functions/{name}/{hashlib.sha256(data).hexdigest()[:20]}.zip"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        print(f"deploy: uploaded s3://{bucket}/{key} ({len(data) / 1e6:.1f} MB)")
    return key


def upload_template(s3, bucket: str, region: str, body: str) -> str:
    """The template in the artifact bucket under a content-hash key, as an S3 URL.

    CloudFormation takes at most 51,200 bytes of template in the request body and 1 MB from S3
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
    the template with its checkov skips and per-domain topics is past the first.
    """
    data = body.encode()
    key = f"templates/{hashlib.sha256(data).hexdigest()[:20]}.json"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
    # LocalStack reads the same S3 URL from its own S3.
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


# ------------------------------------------------------------------------ template
class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short forms (!Ref, !Sub, !GetAtt ...) into JSON form."""


def _cfn_tag(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


def expand_template(template: dict, domains: list[str]) -> dict:
    """Copy the Metadata TrustReg::PerDomain resources/outputs once per trust domain."""
    per_domain = template.get("Metadata", {}).pop("TrustReg::PerDomain", {})
    if not template.get("Metadata"):
        template.pop("Metadata", None)
    ids = {}
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", domain):
            sys.exit(f"deploy: bad trust domain {domain!r} (lowercase letters, digits, '-')")
        ids[domain] = "".join(part.capitalize() for part in domain.split("-"))
    if len(set(ids.values())) != len(ids):
        sys.exit(f"deploy: trust domains collide as logical ids: {ids}")
    for section in ("Resources", "Outputs"):
        block = json.dumps(per_domain.get(section, {}))
        for domain, ident in ids.items():
            template.setdefault(section, {}).update(
                json.loads(block.replace("%DOMAIN%", domain).replace("%ID%", ident)))
    return template


# ------------------------------------------------------------------------ stack
def deploy_stack(cfn, name: str, template_url: str, params: dict) -> bool:
    kwargs = dict(
        StackName=name, TemplateURL=template_url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    status = stack_status(cfn, name)
    if status in ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        # A stack that failed its creation cannot be updated (LocalStack leaves CREATE_FAILED):
        # remove it and create again.
        print(f"deploy: {name} is {status}, deleting it first")
        cfn.delete_stack(StackName=name)
        wait(cfn, name, started=time.time())
        status = None
    started = time.time()
    try:
        if status is None:
            cfn.create_stack(**kwargs)
        else:
            cfn.update_stack(**kwargs)
    except ClientError as e:
        if "No updates are to be performed" in str(e):
            print(f"deploy: {name} unchanged")
            return True
        print(f"deploy: {name}: {e}", file=sys.stderr)  # e.g. a parameter failing its pattern
        return False
    final = wait(cfn, name, started)
    if final in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return True
    print(f"deploy: {name} ended in {final}; events:", file=sys.stderr)
    print_events(cfn, name, started)
    return False


def stack_status(cfn, name: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def wait(cfn, name: str, started: float, timeout: float = 1800) -> str | None:
    """Poll until the stack leaves *_IN_PROGRESS (boto3's waiters sleep 30 s between polls)."""
    interval = 0.5 if LOCAL else 5
    while True:
        status = stack_status(cfn, name)
        if status is None or not status.endswith("_IN_PROGRESS"):
            return status
        if time.time() - started > timeout:
            return status
        time.sleep(interval)


def print_events(cfn, name: str, since: float) -> None:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError as e:
        print(f"  (no events: {e})", file=sys.stderr)
        return
    for ev in reversed(events):
        if ev["Timestamp"].timestamp() < since - 5:
            continue
        print(f"  {ev['LogicalResourceId']:28} {ev['ResourceStatus']:22} {ev.get('ResourceStatusReason', '')}",
              file=sys.stderr)


def stack_outputs(cfn, name: str, domains: list[str]) -> dict:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    out = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    out["StackName"] = name
    # Convenience for scripts and tests: trust domain -> topic ARN.
    out["topics"] = {d: out.get("Topic" + "".join(p.capitalize() for p in d.split("-")) + "Arn") for d in domains}
    if LOCAL:
        endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
        out["local_api_url"] = f"{endpoint}/_aws/execute-api/{out['ApiId']}/{out['StageName']}"
    return out


if __name__ == "__main__":
    sys.exit(main())
