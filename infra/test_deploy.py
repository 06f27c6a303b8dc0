#!/usr/bin/env python3
"""What infra/deploy.py promises operators, checked against a running LocalStack:

(a) an update that leaves out --admin-keys and --linked-accounts keeps both parameters (and
    the inbox policy that LinkedAccounts makes), while a parameter given is changed;
(b) a stack whose creation failed is not deleted without --replace-failed (deploy.py refuses,
    naming the flag), and is replaced with it;
(c) one command deploys two regions, each its own registry (RegID, path) with its own outputs
    file, and --delete removes them.

    localstack/start && source localstack/env
    "$TRUSTREG_LS_PYTHON" infra/test_deploy.py      # about 2.5 minutes on 2 cores

Needs the built functions in target/lambda (scripts/lib.sh build_functions) and the
test administrator's keys (.trustreg/test-admin, made by the first deploy_stack). Its stacks are
named trustreg-dt-*; it deletes them at the end. Refuses to run without AWS_ENDPOINT_URL: it
creates and deletes stacks.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = [sys.executable, str(ROOT / "infra" / "deploy.py")]
BIN_DIR = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "lambda"
ADMIN_KEYS = ROOT / ".trustreg" / "test-admin" / "admin-jwks.json"
STACK = "trustreg-dt-a"
REGIONS = {"eu-west-1": "EU1", "ap-south-1": "IN1"}
# A second administrator, so the kept value cannot be mistaken for a default or for the
# test administrator alone (a public JWK: no private half exists).
SECOND_ADMIN = {"ops": {"kty": "EC", "crv": "P-256",
                        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}
LINKED = "111122223333"


def deploy(*args: str, expect: int = 0) -> str:
    """Run deploy.py; its output (stdout and stderr) when it exits with `expect`."""
    started = time.time()
    r = subprocess.run(DEPLOY + list(args), cwd=ROOT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    print(f"  deploy.py {' '.join(args[:4])} ... -> {r.returncode} in {time.time() - started:.0f}s")
    if r.returncode != expect:
        sys.exit(f"FAIL: deploy.py {' '.join(args)} exited {r.returncode}, expected {expect}:\n{out}")
    return out


def check(ok: bool, what: str) -> None:
    print(f"  {'ok' if ok else 'FAIL'}: {what}")
    if not ok:
        sys.exit(f"FAIL: {what}")


def params(cfn, name: str) -> dict:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def stack(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except cfn.exceptions.ClientError:
        return None


def main() -> None:
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("test_deploy: AWS_ENDPOINT_URL is not set: this test runs against LocalStack only "
                 "(source localstack/env)")
    for f in ("register", "notify", "interrogate", "admin", "exchange"):
        if not (BIN_DIR / f / "bootstrap").is_file():
            sys.exit(f"test_deploy: {BIN_DIR / f / 'bootstrap'} missing (build_functions in scripts/lib.sh)")
    if not ADMIN_KEYS.is_file():
        sys.exit(f"test_deploy: {ADMIN_KEYS} missing (ensure_test_admin in scripts/lib.sh)")
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="trustreg-test-deploy-"))
    second = tmp / "ops-jwks.json"
    second.write_text(json.dumps(SECOND_ADMIN))
    region = os.environ.get("AWS_REGION", "us-east-1")
    cfn = boto3.client("cloudformation", region_name=region)
    common = ["--bin-dir", str(BIN_DIR), "--region", region]

    print("(b) a failed stack is kept without --replace-failed")
    # A stack whose creation fails at once (LocalStack checks bucket names), as a failed
    # registry creation leaves one: CREATE_FAILED (on AWS, ROLLBACK_COMPLETE).
    if stack(cfn, STACK):
        cfn.delete_stack(StackName=STACK)
        cfn.get_waiter("stack_delete_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1})
    bad = {"Resources": {"Bad": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "Not_Valid!!"}}}}
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(bad))
    try:
        cfn.get_waiter("stack_create_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1})
    except Exception:
        pass
    failed = stack(cfn, STACK)
    check(failed["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE"), f"set-up: {STACK} is {failed['StackStatus']}")
    registry = ["--stack-name", STACK, "--reg-id", "DT1", "--type", "geographical", "--domains", "health"]
    out = deploy(*registry, *common, "--admin-keys", str(ADMIN_KEYS), str(second),
                 "--linked-accounts", LINKED, expect=1)
    check("--replace-failed" in out and failed["StackStatus"] in out, "the refusal names the state and --replace-failed")
    kept = stack(cfn, STACK)
    check(kept is not None and kept["StackId"] == failed["StackId"] and kept["StackStatus"] == failed["StackStatus"],
          "the failed stack is still there, unchanged")
    deploy(*registry, *common, "--admin-keys", str(ADMIN_KEYS), str(second),
           "--linked-accounts", LINKED, "--replace-failed", "--out", str(tmp / "a.json"))
    created = stack(cfn, STACK)
    check(created["StackId"] != failed["StackId"] and created["StackStatus"] == "CREATE_COMPLETE",
          "with --replace-failed it is deleted and created anew")

    print("(a) an update keeps the parameters it is not given")
    before = params(cfn, STACK)
    check(json.loads(before["AdminPublicKeys"]).keys() == {"test", "ops"} and before["LinkedAccounts"] == LINKED,
          "created with two administrators and a linked account")
    out = deploy("--stack-name", STACK, *common, "--log-level", "debug", "--out", str(tmp / "a.json"))
    after = params(cfn, STACK)
    check(after["AdminPublicKeys"] == before["AdminPublicKeys"], "AdminPublicKeys kept")
    check(after["LinkedAccounts"] == LINKED, "LinkedAccounts kept")
    check(all(after[k] == before[k] for k in ("RegId", "RegistryPath", "RegistryType", "TrustDomains", "NameSuffix",
                                                "RateLimits", "AllowLoopbackEndpoints")),
          "the registry's identity and the other parameters kept")
    check(after["LogLevel"] == "debug", "LogLevel, given, changed")
    # By id: LocalStack answers by name with the deleted failed stack's resources.
    resources = {r["LogicalResourceId"] for r in
                 cfn.describe_stack_resources(StackName=stack(cfn, STACK)["StackId"])["StackResources"]}
    check("InboxPolicy" in resources, "the inbox policy (made for LinkedAccounts) is still there")
    fn = json.loads((tmp / "a.json").read_text())["AdminFunctionName"]
    env = boto3.client("lambda", region_name=region).get_function_configuration(FunctionName=fn)["Environment"]["Variables"]
    check(json.loads(env["ADMIN_PUBLIC_KEYS"]).keys() == {"test", "ops"}, "the admin function still knows both administrators")

    print("(c) two regions in one command, each its own registry and outputs")
    # {reg_id} in the stack name: with the template's named IAM roles (global to the account),
    # one stack name in two regions would collide on the role names.
    regions = ",".join(f"{r}={i}" for r, i in REGIONS.items())
    multi = ["--regions", regions, "--stack-name", "trustreg-dt-{reg_id}"]
    deploy(*multi, "--type", "geographical", "--domains", "health", "--bin-dir", str(BIN_DIR),
           "--admin-keys", str(ADMIN_KEYS), "--out", str(tmp / "geo.json"))
    for r, reg_id in REGIONS.items():
        f = tmp / f"geo.{r}.json"
        check(f.is_file(), f"outputs of {r} in {f.name}")
        o = json.loads(f.read_text())
        check(o["Region"] == r and o["RegId"] == reg_id and o["RegistryPath"] == reg_id
              and o["StackName"] == f"trustreg-dt-{reg_id.lower()}", f"{r}: {reg_id}'s own stack")
        s = stack(boto3.client("cloudformation", region_name=r), o["StackName"])
        check(s is not None and s["StackId"].split(":")[3] == r, f"{r}: the stack is in {r}")
        with urllib.request.urlopen(o["local_api_url"] + "/v1/registry", timeout=30) as resp:
            doc = json.load(resp)
        check(doc.get("reg_id") == reg_id, f"{r}: the registry answers as {reg_id}")

    print("cleanup: --delete")
    deploy(*multi, "--delete")
    deploy("--stack-name", STACK, "--region", region, "--delete")
    for r, reg_id in REGIONS.items():
        check(stack(boto3.client("cloudformation", region_name=r), f"trustreg-dt-{reg_id.lower()}") is None,
              f"{r}: deleted")
    check(stack(cfn, STACK) is None, f"{STACK} deleted")
    print(f"test_deploy: all passed in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
