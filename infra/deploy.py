#!/usr/bin/env python3
"""Deploy trustreg registry stacks (infra/template.yaml) to AWS or LocalStack: one region, or
several at once, each region its own registry.

    # AWS: credentials in the environment, no AWS_ENDPOINT_URL
    python3 infra/deploy.py --region ap-south-1 --stack-name trustreg-p07 --reg-id P07 \\
        --path IN1.HLT.P07 --type primary --domains health,energy \\
        --bin-dir target/lambda --admin-keys admins/alice/admin-jwks.json --out p07.json
    # several regions, one registry each (here geographical apexes EU1 and IN1)
    python3 infra/deploy.py --regions eu-west-1=EU1,ap-south-1=IN1 --type geographical \\
        --stack-name trustreg-geo --domains health,energy --bin-dir target/lambda \\
        --admin-keys admins/alice/admin-jwks.json --out geo.json   # geo.eu-west-1.json, ...
    # LocalStack: the same command after `source localstack/env` (AWS_ENDPOINT_URL set)

What it does in each region: create the artifact bucket `trustreg-artifacts-<account>-<region>`
if missing (Lambda reads its code from the function's own region); zip each function binary as
`bootstrap` under a content-hash key and upload it; expand the template's per-domain topics and
upload it; create a CloudFormation change set (CREATE or UPDATE) and execute it, as
`aws cloudformation deploy` does; wait with boto3's waiters; redeploy the API stage; upload the
built portal (portal/dist, when it exists) to the stack's portal bucket (infra/portal.py); write
the outputs as JSON.

Updates behave like `aws cloudformation deploy`: a template parameter not given on the command
line keeps the stack's current value (UsePreviousValue), so re-running without --admin-keys
keeps the administrators. Only the function code keys, the artifact bucket and the architecture
(read from the binaries) are always set. On a create, what is not given takes the template's
default. A stack whose creation failed cannot be updated; it is deleted and created again only
with --replace-failed. --delete deletes the stacks (and nothing else happens without it).

Needs Python 3.11 with boto3 and PyYAML (both in the LocalStack venv).
"""

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from portal import portal_url, upload_portal

HERE = Path(__file__).resolve().parent
FUNCTIONS = {"register": "RegisterCodeKey", "notify": "NotifyCodeKey", "interrogate": "InterrogateCodeKey", "admin": "AdminCodeKey", "exchange": "ExchangeCodeKey"}  # binary name -> template parameter of its S3 key
LOCAL = bool(os.environ.get("AWS_ENDPOINT_URL"))  # boto3 sends everything there when set
# Waiter polling. boto3's CloudFormation waiters poll every 30 s by default (5 s for change
# sets); a registry stack takes minutes on AWS and seconds on LocalStack, so poll sooner.
STACK_WAIT = {"Delay": 1, "MaxAttempts": 3600} if LOCAL else {"Delay": 5, "MaxAttempts": 720}  # <= 1 h
CHANGE_SET_WAIT = {"Delay": 1, "MaxAttempts": 300} if LOCAL else {"Delay": 2, "MaxAttempts": 300}
# A stack in one of these states holds no working registry and cannot be updated (AWS leaves
# ROLLBACK_COMPLETE after a failed create, LocalStack CREATE_FAILED): only deleting it helps.
FAILED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}  # ELF e_machine -> Lambda architecture


class DeployError(Exception):
    """A refusal or failure to report to the operator, without a traceback."""


@dataclass
class Target:
    """One registry stack to deploy: in a region, with its RegID and path."""
    region: str
    stack_name: str
    reg_id: str | None
    path: str | None
    name_suffix: str | None
    bucket: str | None
    out: Path | None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_argument_group("where")
    where.add_argument("--stack-name", required=True,
                       help="CloudFormation stack name; may contain {region} and {reg_id}")
    where.add_argument("--region", help="AWS region (default: AWS_REGION, the profile's, us-east-1)")
    where.add_argument("--regions",
                       help="deploy one registry per region: REGION=PATH,... where PATH is the "
                            "registry's RegID chain ending with its own RegID (a bare RegID: a "
                            "geographical apex), e.g. eu-west-1=EU1,ap-south-1=IN1")
    where.add_argument("--out", type=Path,
                       help="write the stack outputs here (JSON); with several regions, "
                            "one file per region: <out stem>.<region>.json (or {region} in it)")
    reg = p.add_argument_group("registry (required to create a stack; an update keeps them when left out)")
    reg.add_argument("--reg-id", help="RegID, [A-Z0-9]{3}")
    reg.add_argument("--path", help="registry path, e.g. IN1.HLT.P07 (default for a geographical registry: its RegID)")
    reg.add_argument("--type", choices=["primary", "sectoral", "geographical"])
    reg.add_argument("--domains", help="comma-separated trust domains")
    code = p.add_argument_group("code")
    code.add_argument("--bin-dir", type=Path,
                      help="the function binaries: <bin-dir>/<fn>/bootstrap (cargo lambda build) "
                           "or <bin-dir>/<fn>, for register notify interrogate admin exchange")
    code.add_argument("--arch", choices=["x86_64", "arm64"],
                      help="checked against the binaries' (ELF) architecture, which is what is deployed")
    code.add_argument("--bucket", help="artifact bucket (default: trustreg-artifacts-<account>-<region>); "
                                       "with several regions it must contain {region}")
    params = p.add_argument_group("parameters (an update keeps each one left out)")
    params.add_argument("--name-suffix",
                        help="suffix of global names (on create, default: the stack name without trustreg-)")
    params.add_argument("--log-level", help="RUST_LOG of the functions (template default: info)")
    params.add_argument("--admin-keys", type=Path, nargs="+", action="extend",
                        help="administrators' public keys: JSON files {\"<name>\": <P-256 public JWK>} "
                             "(trustreg admin keygen), merged; the stack's whole list of administrators")
    params.add_argument("--rate-limits",
                        help="abuse limits per caller and minute, e.g. challenges=120,sign_ups=10,"
                             "logins=30,anonymous_lookups=300")
    params.add_argument("--linked-accounts",
                        help="comma-separated AWS accounts of linked registries that may send to "
                             "the inbox (\"\" for none)")
    params.add_argument("--allow-loopback-endpoints", action=argparse.BooleanOptionalAction,
                        help="test stacks only: subscriptions may name loopback endpoints, "
                             "links the emulator's http inboxes")
    params.add_argument("--parameter-overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="any other template parameter, as `aws cloudformation deploy` takes them")
    ops = p.add_argument_group("operations")
    ops.add_argument("--replace-failed", action="store_true",
                     help=f"delete a stack that failed its creation ({', '.join(FAILED)}) and create it again")
    ops.add_argument("--delete", action="store_true",
                     help="delete the stack(s) instead of deploying (empties the portal bucket first); "
                          "the table and KMS keys are retained by the template")
    p.add_argument("--template", type=Path, default=HERE / "template.yaml")
    p.add_argument("--portal-dist", type=Path, default=HERE.parent / "portal" / "dist",
                   help="the built portal (scripts/build-portal): uploaded to the stack's portal "
                        "bucket with a config.json naming the stack's API, when it exists")
    a = p.parse_args()

    if not a.delete and not a.bin_dir:
        p.error("--bin-dir is required to deploy")
    try:
        targets = plan_targets(a)
        if a.delete:
            jobs = {t.region: (lambda t=t: delete_target(t)) for t in targets}
        else:
            common = prepare(a)
            jobs = {t.region: (lambda t=t: deploy_target(a, t, common)) for t in targets}
    except DeployError as e:
        p.error(str(e))
    return run_all(jobs, prefix=len(targets) > 1)


# ------------------------------------------------------------------------ planning
def plan_targets(a) -> list[Target]:
    """One Target per region, with {region} and {reg_id} filled into names."""
    if a.reg_id and not is_reg_id(a.reg_id):
        raise DeployError(f"--reg-id {a.reg_id!r}: expected [A-Z0-9]{{3}} or a country code")
    if not a.regions:
        region = a.region or boto3.session.Session().region_name or "us-east-1"
        specs = [(region, a.path or None)]
    else:
        if a.region or a.reg_id or a.path:
            raise DeployError("--regions names each region's RegID and path: "
                              "leave out --region, --reg-id and --path")
        if a.bucket and "{region}" not in a.bucket:
            raise DeployError("--bucket with --regions must contain {region}: "
                              "Lambda reads its code from a bucket in the function's own region")
        specs = []
        for item in a.regions.split(","):
            region, _, path = item.strip().partition("=")
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", region) or not path:
                raise DeployError(f"--regions {item!r}: expected REGION=PATH, e.g. eu-west-1=EU1")
            specs.append((region, path))
        if len({r for r, _ in specs}) != len(specs):
            raise DeployError(f"--regions {a.regions!r}: a region appears twice")
        if len({path for _, path in specs}) != len(specs):
            raise DeployError(f"--regions {a.regions!r}: each region's registry needs its own RegID")
    targets = []
    for region, path in specs:
        reg_id = path.split(".")[-1] if path else a.reg_id
        if path and reg_id and a.reg_id and reg_id != a.reg_id:
            raise DeployError(f"--path {path!r} must end with --reg-id {a.reg_id}")
        fill = {"region": region, "reg_id": (reg_id or "").lower()}
        fmt = lambda s: s.format(**fill) if s else s  # noqa: E731
        out = a.out
        if out and len(specs) > 1:
            out = Path(fmt(str(out))) if "{region}" in str(out) else out.with_name(f"{out.stem}.{region}{out.suffix or '.json'}")
        elif out:
            out = Path(fmt(str(out)))
        targets.append(Target(region, fmt(a.stack_name), reg_id, path, fmt(a.name_suffix), fmt(a.bucket), out))
    if len({(t.stack_name, t.region) for t in targets}) != len(targets):
        raise DeployError("two registries would share one stack")
    return targets


@dataclass
class Common:
    """What every region deploys: the functions, the template, the parameters given."""
    binaries: dict        # function name -> binary
    arch: str
    template: dict        # as written (per-domain block not yet expanded)
    given: dict           # template parameter -> value given on the command line
    _zips: dict | None = None
    _lock: threading.Lock = threading.Lock()

    def zips(self) -> dict:
        """Function name -> (template parameter, zip bytes, S3 key); made once, when the first
        region gets past its checks (zipping takes seconds: a refusal should not wait)."""
        with self._lock:
            if self._zips is None:
                self._zips = {}
                for name, param in FUNCTIONS.items():
                    data = zip_bootstrap(self.binaries[name])
                    self._zips[name] = (param, data, f"functions/{name}/{hashlib.sha256(data).hexdigest()[:20]}.zip")
            return self._zips


def prepare(a) -> Common:
    binaries = {name: function_binary(a.bin_dir, name) for name in FUNCTIONS}
    missing = [str(b) for b in binaries.values() if not b.is_file()]
    if missing:
        raise DeployError(f"missing function binaries: {', '.join(missing)} (build all five: "
                          f"cargo lambda build --release --arm64 {' '.join('-p trustreg-' + f for f in FUNCTIONS)})")
    archs = {name: elf_arch(b) for name, b in binaries.items()}
    found = set(archs.values()) - {None}
    if len(found) > 1:
        raise DeployError(f"the binaries are built for different architectures: {archs}")
    arch = found.pop() if found else (a.arch or ("x86_64" if LOCAL else "arm64"))
    if a.arch and a.arch != arch:
        raise DeployError(f"--arch {a.arch}, but the binaries in {a.bin_dir} are {arch}")

    given = {}
    if a.type:
        given["RegistryType"] = a.type
    if a.domains is not None:
        given["TrustDomains"] = ",".join(parse_domains(a.domains))
    if a.log_level:
        given["LogLevel"] = a.log_level
    if a.rate_limits:
        given["RateLimits"] = a.rate_limits
    if a.linked_accounts is not None:
        given["LinkedAccounts"] = a.linked_accounts
    if a.allow_loopback_endpoints is not None:
        given["AllowLoopbackEndpoints"] = "true" if a.allow_loopback_endpoints else "false"
    if a.admin_keys:
        given["AdminPublicKeys"] = merge_admin_keys(a.admin_keys)
    template = load_template(a.template)
    declared = template.get("Parameters", {})
    for item in a.parameter_overrides:
        key, eq, value = item.partition("=")
        if not eq:
            raise DeployError(f"--parameter-overrides {item!r}: expected KEY=VALUE")
        given[key] = value
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise DeployError(f"{a.template} has no parameter {', '.join(unknown)}")
    return Common(binaries, arch, template, given)


def merge_admin_keys(files: list[Path]) -> str:
    keys = {}
    for f in files:
        try:
            part = json.loads(f.read_text())
        except (OSError, ValueError) as e:
            raise DeployError(f"--admin-keys {f}: {e}")
        if not isinstance(part, dict) or not all(isinstance(v, dict) for v in part.values()):
            raise DeployError(f"--admin-keys {f}: expected a JSON object of name -> JWK")
        twice = set(keys) & set(part)
        if twice:
            raise DeployError(f"--admin-keys: administrator {', '.join(sorted(twice))} in two files")
        keys.update(part)
    return json.dumps(keys, separators=(",", ":"), sort_keys=True)


def parse_domains(text: str) -> list[str]:
    domains = [d.strip() for d in text.split(",") if d.strip()]
    if not domains:
        raise DeployError("--domains: at least one trust domain")
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", domain):
            raise DeployError(f"bad trust domain {domain!r} (lowercase letters, digits, '-')")
    return domains


# The ICANN two-letter country codes a geographical registry may take as its RegID (Y.3059
# 9.1 i note): the registry's own list, so the functions accept what is deployed.
COUNTRY_CODES = frozenset(
    code
    for line in (Path(__file__).resolve().parent.parent
                 / "functions/model/src/identifier/country_codes.txt").read_text().splitlines()
    if not line.startswith("#")
    for code in line.split()
)


def is_reg_id(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]{3}", text)) or text in COUNTRY_CODES


def check_registry(reg_id: str, path: str, rtype: str) -> None:
    """LocalStack 4.7.0 does not enforce AllowedPattern/AllowedValues: checked here too."""
    if not is_reg_id(reg_id):
        raise DeployError(f"RegID {reg_id!r}: expected [A-Z0-9]{{3}} or an ICANN country code")
    ids = path.split(".")
    # A country code names a geographical registry, the apex: first in a path only.
    well_formed = is_reg_id(ids[0]) and all(re.fullmatch(r"[A-Z0-9]{3}", i) for i in ids[1:])
    if not well_formed or ids[-1] != reg_id:
        raise DeployError(f"path {path!r}: expected RegIDs joined by '.', ending with {reg_id}")
    # The path is the chain from the apex (Y.3059 6.1 a): a geographical registry is the apex,
    # a sectoral one sits under one geographical, a primary under one sectoral.
    depth = {"geographical": 1, "sectoral": 2, "primary": 3}[rtype]
    if len(path.split(".")) != depth:
        raise DeployError(f"path {path!r}: a {rtype} registry's path has {depth} RegID(s)")


# ------------------------------------------------------------------------ running
_print_lock = threading.Lock()
_prefix = threading.local()


def log(msg: str, err: bool = False) -> None:
    tag = getattr(_prefix, "tag", "")
    with _print_lock:
        for line in msg.splitlines():
            print(f"deploy{tag}: {line}", file=sys.stderr if err else sys.stdout, flush=True)


def run_all(jobs: dict, prefix: bool) -> int:
    """Run each region's job (side by side when several); 0 when all succeeded."""
    def run(region, job):
        _prefix.tag = f" [{region}]" if prefix else ""
        try:
            job()
            return True
        except DeployError as e:
            log(str(e), err=True)
        except ClientError as e:  # e.g. no permission: the operator reads AWS's own words
            log(f"{e}", err=True)
        return False

    if len(jobs) == 1:
        results = {r: run(r, j) for r, j in jobs.items()}
    else:
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            futures = {r: pool.submit(run, r, j) for r, j in jobs.items()}
            results = {r: f.result() for r, f in futures.items()}
    failed = [r for r, ok in results.items() if not ok]
    if failed and len(jobs) > 1:
        log(f"failed in {', '.join(failed)}; done in {', '.join(r for r in results if r not in failed) or 'none'}", err=True)
    return 1 if failed else 0


class Clients:
    def __init__(self, region: str):
        # One session per region and thread: boto3 sessions are not thread-safe.
        session = boto3.session.Session(region_name=region)
        self.region = region
        # LocalStack: path-style S3 (*.localhost.localstack.cloud does not resolve everywhere).
        self.s3 = session.client("s3", config=Config(s3={"addressing_style": "path"}) if LOCAL else None)
        self.cfn = session.client("cloudformation")
        self.apigw = session.client("apigateway")
        self.account = session.client("sts").get_caller_identity()["Account"]


def deploy_target(a, t: Target, common: Common) -> None:
    c = Clients(t.region)
    t0 = time.time()
    stack = describe_stack(c.cfn, t.stack_name)
    status = stack["StackStatus"] if stack else None
    if status in FAILED:
        if not a.replace_failed:
            what = ("a deletion of it failed" if status == "DELETE_FAILED" else
                    "its creation failed (which leaves no registry data)")
            raise DeployError(
                f"{t.stack_name} in {t.region} is {status}: {what}; the first failure: "
                f"{last_failure(c.cfn, stack['StackId'])}. A stack in that state cannot be "
                f"updated, and nothing was changed. Fix the cause, then run again with "
                f"--replace-failed to delete it and create it anew, or delete it yourself: "
                f"aws cloudformation delete-stack --region {t.region} --stack-name {t.stack_name}")
        log(f"{t.stack_name} is {status}: deleting it (--replace-failed)")
        delete_stack(c, stack["StackId"], empty_portal=False)
        stack, status = None, None
    elif status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(f"{t.stack_name} is UPDATE_ROLLBACK_FAILED: finish the rollback first "
                          f"(aws cloudformation continue-update-rollback --stack-name {t.stack_name})")
    elif status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"{t.stack_name} is {status}: another operation is running on it; "
                          "run again when it has ended")
    # REVIEW_IN_PROGRESS: a stack whose first change set never ran; it has no resources and is
    # created by a CREATE change set, as a new one.
    exists = status not in (None, "REVIEW_IN_PROGRESS")
    previous = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])} if exists else {}

    # The registry's identity: given, or the stack's own on an update.
    reg_id = t.reg_id or previous.get("RegId")
    rtype = common.given.get("RegistryType") or previous.get("RegistryType")
    path = t.path or previous.get("RegistryPath") or (reg_id if rtype == "geographical" else None)
    domains_text = common.given.get("TrustDomains") or previous.get("TrustDomains")
    lacking = [flag for flag, v in (("--reg-id", reg_id), ("--path", path), ("--type", rtype),
                                    ("--domains", domains_text)) if not v]
    if lacking:
        raise DeployError(f"{t.stack_name} does not exist in {t.region}: creating it needs {', '.join(lacking)}")
    check_registry(reg_id, path, rtype)
    domains = parse_domains(domains_text)

    bucket = t.bucket or f"trustreg-artifacts-{c.account}-{t.region}"
    ensure_bucket(c.s3, bucket, t.region)
    # Always given: what this run uploaded and what the binaries are built for.
    given = dict(common.given, ArtifactBucket=bucket, Architecture=common.arch)
    for name, (param, data, key) in common.zips().items():
        upload_object(c.s3, bucket, key, data, f"{name} ({len(data) / 1e6:.1f} MB)")
        given[param] = key
    if not exists:
        given.update(RegId=reg_id, RegistryPath=path, RegistryType=rtype, TrustDomains=",".join(domains))
    if t.reg_id:
        given["RegId"] = reg_id
    if t.path:
        given["RegistryPath"] = path
    if t.name_suffix:
        given["NameSuffix"] = t.name_suffix
    elif not exists:
        # Default suffix: the stack name without a leading "trustreg-" (trustreg-p07 -> p07).
        # An update keeps the stack's suffix: a new one would replace every named resource.
        given["NameSuffix"] = re.sub(r"[^a-z0-9-]+", "-", t.stack_name.lower().removeprefix("trustreg-")).strip("-")[:31]

    parameters = stack_parameters(common.template.get("Parameters", {}), given, previous if exists else None)
    template = expand_template(json.loads(json.dumps(common.template)), domains)
    body = json.dumps(template, separators=(",", ":")).encode()
    key = f"templates/{hashlib.sha256(body).hexdigest()[:20]}.json"
    upload_object(c.s3, bucket, key, body)
    # LocalStack reads the same S3 URL from its own S3.
    template_url = f"https://{bucket}.s3.{t.region}.amazonaws.com/{key}"

    kept = sorted(p["ParameterKey"] for p in parameters if p.get("UsePreviousValue"))
    log(f"{'update' if exists else 'create'} {t.stack_name} in {t.region}: {reg_id} {path} ({rtype}), "
        f"domains {domains}, {common.arch}" + (f"; kept: {', '.join(kept)}" if kept else ""))
    deploy_change_set(c.cfn, t.stack_name, template_url, parameters, exists)

    outputs = stack_outputs(c.cfn, t.stack_name, domains)
    outputs["Region"] = t.region
    # The stack's Deployment resource is a snapshot from the stack's creation: a stack update
    # that changed the routes would leave the stage serving the old ones.
    c.apigw.create_deployment(restApiId=outputs["ApiId"], stageName=outputs["StageName"],
                              description="the routes of the template as deployed")
    if (a.portal_dist / "index.html").is_file() and outputs.get("PortalBucket"):
        api = outputs.get("local_api_url") or outputs["ApiUrl"]
        upload_portal(c.s3, outputs["PortalBucket"], a.portal_dist, api)
        outputs["portal_url"] = portal_url(outputs, os.environ.get("AWS_ENDPOINT_URL"))
    log(f"{t.stack_name} in {t.region} ready in {time.time() - t0:.1f}s")
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
    if t.out:
        t.out.parent.mkdir(parents=True, exist_ok=True)
        t.out.write_text(text)
        log(f"outputs in {t.out}")
    else:
        with _print_lock:
            sys.stdout.write(text)


def stack_parameters(declared: dict, given: dict, previous: dict | None) -> list[dict]:
    """The change set's parameters, as `aws cloudformation deploy` makes them: each given one
    with its value; on an update, every other one the stack has keeps its value
    (UsePreviousValue); the rest (a create, or a parameter new in the template) take the
    template's default."""
    out = []
    for key, spec in declared.items():
        if key in given:
            out.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif previous is not None and key in previous:
            out.append({"ParameterKey": key, "UsePreviousValue": True})
        elif "Default" not in spec:
            raise DeployError(f"template parameter {key} has no default: give it")
    return out


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
    log(f"created bucket {bucket}")


def function_binary(bin_dir: Path, name: str) -> Path:
    """cargo-lambda's `<bin-dir>/<name>/bootstrap`, or `<bin-dir>/<name>` (host builds)."""
    nested = bin_dir / name / "bootstrap"
    return nested if nested.is_file() else bin_dir / name


def elf_arch(binary: Path) -> str | None:
    """The Lambda architecture an ELF executable is built for (None if not ELF)."""
    with open(binary, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[5] != 1:  # little-endian only
        return None
    return ELF_MACHINES.get(int.from_bytes(head[18:20], "little"))


def zip_bootstrap(binary: Path) -> bytes:
    """`binary` zipped as `bootstrap` (0755), reproducibly: same binary, same bytes, same key."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 << 16)  # regular file, rwxr-xr-x
        info.create_system = 3  # unix, so the mode is honoured
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, binary.read_bytes())
    return buf.getvalue()


def upload_object(s3, bucket: str, key: str, data: bytes, what: str | None = None) -> None:
    """Put `data` unless the content-hash `key` is there already.

    The template goes by S3 URL too: CloudFormation takes at most 51,200 bytes of template in
    the request body and 1 MB from S3 (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
    the template with its checkov skips and per-domain topics is past the first.
    """
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        if what:
            log(f"uploaded s3://{bucket}/{key}: {what}")


# ------------------------------------------------------------------------ template
class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short forms (!Ref, !Sub, !GetAtt ...) into JSON form."""


def _cfn_tag(loader, tag_suffix, node):
    # !Ref and !Condition are the two short forms without the Fn:: prefix.
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
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
    parse_domains(",".join(domains))
    ids = {domain: "".join(part.capitalize() for part in domain.split("-")) for domain in domains}
    if len(set(ids.values())) != len(ids):
        raise DeployError(f"trust domains collide as logical ids: {ids}")
    for section in ("Resources", "Outputs"):
        block = json.dumps(per_domain.get(section, {}))
        for domain, ident in ids.items():
            template.setdefault(section, {}).update(
                json.loads(block.replace("%DOMAIN%", domain).replace("%ID%", ident)))
    return template


# ------------------------------------------------------------------------ stack
def deploy_change_set(cfn, name: str, template_url: str, parameters: list, exists: bool) -> None:
    """Create a change set and execute it: what `aws cloudformation deploy` does.

    A change set with nothing to change fails with a reason saying so on AWS: that is success
    ("unchanged"). LocalStack 4.7.0 instead reports every resource as Modify and runs a full
    update (about 27 s for this template; measured), which is harmless.
    """
    started = time.time()
    cs_name = f"trustreg-deploy-{int(started * 1000)}"
    try:
        cs = cfn.create_change_set(
            StackName=name, ChangeSetName=cs_name, TemplateURL=template_url,
            ChangeSetType="UPDATE" if exists else "CREATE", Parameters=parameters,
            Capabilities=["CAPABILITY_NAMED_IAM"], Description="infra/deploy.py")
    except ClientError as e:  # e.g. a parameter failing its pattern, a template error
        raise DeployError(f"{name}: {e.response['Error']['Message']}")
    try:
        cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=cs["Id"], WaiterConfig=CHANGE_SET_WAIT)
    except WaiterError:
        desc = cfn.describe_change_set(ChangeSetName=cs["Id"])
        reason = desc.get("StatusReason") or ""
        if "didn't contain changes" in reason or "No updates are to be performed" in reason:
            cfn.delete_change_set(ChangeSetName=cs["Id"])
            log(f"{name} unchanged")
            return
        raise DeployError(f"{name}: change set {desc['Status']}: {reason}")
    cfn.execute_change_set(ChangeSetName=cs["Id"])
    waiter = "stack_update_complete" if exists else "stack_create_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig=STACK_WAIT)
    except WaiterError:
        stack = describe_stack(cfn, name)
        final = stack["StackStatus"] if stack else "gone"
        raise DeployError(f"{name} ended in {final}; failed since the change set:\n"
                          + events_text(cfn, name, started))


def describe_stack(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def events_text(cfn, name: str, since: float) -> str:
    """The failures among the stack's events since `since` (the rest only say what started
    and completed)."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError as e:
        return f"  (no events: {e})"
    failed = [f"  {ev['LogicalResourceId']:28} {ev['ResourceStatus']:22} {ev.get('ResourceStatusReason', '')}"
              for ev in reversed(events)
              if ev["Timestamp"].timestamp() >= since - 5 and ev["ResourceStatus"].endswith("_FAILED")]
    return "\n".join(failed) or "  (no failed resource in the events)"


def last_failure(cfn, name: str) -> str:
    """The first failed resource's reason: what the operator has to fix."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return "no events"
    for ev in reversed(events):
        if ev["ResourceStatus"].endswith("_FAILED") and ev.get("ResourceStatusReason"):
            return f"{ev['LogicalResourceId']}: {ev['ResourceStatusReason']}"
    return "no reason recorded"


def delete_target(t: Target) -> None:
    c = Clients(t.region)
    stack = describe_stack(c.cfn, t.stack_name)
    if not stack:
        log(f"{t.stack_name} does not exist in {t.region}")
        return
    delete_stack(c, stack["StackId"], empty_portal=True)
    log(f"{t.stack_name} deleted in {t.region} (its table and KMS keys are retained: "
        "see the README's Deleting)")


def delete_stack(c: Clients, name: str, empty_portal: bool) -> None:
    """Delete a stack and wait. CloudFormation cannot delete a bucket with objects in it: the
    portal bucket (a build output) is emptied first.

    `name` is the stack's id: LocalStack 4.7.0 answers DescribeStackResources by name with the
    resources of a deleted stack of that name, when there is one (measured)."""
    if empty_portal:
        for r in c.cfn.describe_stack_resources(StackName=name)["StackResources"]:
            if r["LogicalResourceId"] == "PortalBucket" and r.get("PhysicalResourceId"):
                empty_bucket(c.s3, r["PhysicalResourceId"])
    started = time.time()
    c.cfn.delete_stack(StackName=name)
    try:
        c.cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=STACK_WAIT)
    except WaiterError:
        raise DeployError(f"deleting {name} failed; events:\n" + events_text(c.cfn, name, started))


def empty_bucket(s3, bucket: str) -> None:
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchBucket":
            raise


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
