"""Per role: the calls the IAM fidelity layer saw (action x resource, allowed or denied)
against the role's grants as deployed, flagging grants never used and calls denied.

Reads the recorder's JSONL (localstack/plugin/trustreg_localstack/fidelity/recorder.py) and the
roles' policies from the running LocalStack's IAM; matches with the layer's own rules
(fidelity/policy.py). Usage: scripts/iam-report [--roles PREFIX] [--log FILE]
"""

import argparse
import collections
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "localstack/plugin"))
from trustreg_localstack.fidelity import policy  # noqa: E402  (pure module, no LocalStack import)


def grants_of(iam, role):
    """(policy name, sid, statement) for every statement of the role's inline and attached policies."""
    out = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        out += [(name, st.get("Sid") or str(i), st) for i, st in enumerate(policy.statements(doc))]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        meta = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=meta["DefaultVersionId"])
        doc = doc["PolicyVersion"]["Document"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        out += [(attached["PolicyName"], st.get("Sid") or str(i), st) for i, st in enumerate(policy.statements(doc))]
    return out


def as_list(v):
    return v if isinstance(v, list) else [v]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    state = Path(os.environ.get("TRUSTREG_STATE") or REPO / ".trustreg")
    ap.add_argument("--log", default=str(state / "iam-calls.jsonl"))
    ap.add_argument("--roles", default="", help="only roles whose name starts with this")
    ap.add_argument("--with-probes", action="store_true",
                    help="include the calls tests/tests/fidelity.rs makes on purpose (session fidelity-probe)")
    args = ap.parse_args()

    calls = collections.defaultdict(collections.Counter)  # role -> (action, resource, allowed) -> n
    with open(args.log) as f:
        for line in f:
            c = json.loads(line)
            if c.get("session") == "fidelity-probe" and not args.with_probes:
                continue
            if c["role"].startswith(args.roles):
                mark = "" if c.get("enforced", True) else " (recorded, not enforced)"
                # One line per log group, not per stream (a stream per environment and day).
                if ":log-stream:" in c["resource"]:
                    c["resource"] = c["resource"].split(":log-stream:")[0] + ":log-stream:*"
                calls[c["role"]][(c["action"], c["resource"] + mark, c["allowed"], c.get("internal", False))] += 1

    import boto3

    iam = boto3.client("iam", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), region_name="us-east-1")
    for role in sorted(calls):
        seen = calls[role]
        print(f"\n== role {role}: {sum(seen.values())} calls, {sum(n for k, n in seen.items() if not k[2] and 'not enforced' not in k[1])} denied")
        print("   calls seen (action  resource  count; * = made by LocalStack for the role, e.g. a mapping's poller):")
        for (action, resource, allowed, internal), n in sorted(seen.items()):
            print(f"   {'ok    ' if allowed else 'DENIED'} {action:32} {resource}  x{n}{' *' if internal else ''}")
        try:
            grants = grants_of(iam, role)
        except Exception as e:  # noqa: BLE001 - the stack may be gone
            print(f"   grants: cannot read the role from IAM ({e.__class__.__name__})")
            continue
        print("   grants (statement  action  resource  -> allowed calls matched):")
        for pol, sid, st in grants:
            if st.get("Effect") != "Allow":
                print(f"   {pol}#{sid}: {st.get('Effect')} statement")
                continue
            for action in as_list(st.get("Action", st.get("NotAction"))):
                for resource in as_list(st.get("Resource", st.get("NotResource"))):
                    used = sum(n for (a, r, ok, _), n in seen.items()
                               if ok and policy.matches(action, a, True) and policy.matches(resource, r))
                    flag = f"used x{used}" if used else "NEVER USED"
                    print(f"   {pol}#{sid:20} {action:32} {resource}  -> {flag}")


if __name__ == "__main__":
    main()
