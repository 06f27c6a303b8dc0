#!/usr/bin/env python3
"""Upload the built enquirer portal (portal/dist) to a deployed stack's portal bucket, with a
config.json naming the stack's API. infra/deploy.py does this after each deployment when
portal/dist exists; run it alone to refresh the portal of a standing stack:

    source localstack/env
    "$TRUSTREG_LS_PYTHON" infra/portal.py --stack-name trustreg-local \\
        --out .trustreg/stacks/trustreg-local.json     # adds portal_url to the outputs file

Needs boto3 (in the LocalStack venv).
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".wasm": "application/wasm",
         ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png"}


def upload_portal(s3, bucket: str, dist: Path, api: str) -> None:
    """Sync `dist` into the portal bucket, plus config.json naming `api` (without /v1); objects
    of an earlier build that the new one lacks are removed; unchanged files (MD5 ETag) are
    skipped."""
    files = {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*"))
             if p.is_file() and p.name != "config.json"}
    api = api.rstrip("/")
    files["config.json"] = (json.dumps({"api": api.removesuffix("/v1")}, indent=2) + "\n").encode()
    existing = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        existing.update({o["Key"]: o["ETag"].strip('"') for o in page.get("Contents", [])})
    sent = 0
    for key, data in files.items():
        if existing.get(key) == hashlib.md5(data).hexdigest():
            continue
        ctype = TYPES.get(Path(key).suffix.lower(), "application/octet-stream")
        # index.html and config.json change with each build or deployment under the same names.
        cache = "no-cache" if key in ("index.html", "config.json") else "max-age=300"
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=ctype, CacheControl=cache)
        sent += 1
    stale = [k for k in existing if k not in files]
    for i in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[i:i + 1000]]})
    print(f"deploy: portal in s3://{bucket}: {sent} of {len(files)} files uploaded, {len(stale)} removed")


def portal_url(outputs: dict, endpoint: str | None) -> str:
    """The portal's address. LocalStack (`endpoint`) serves bucket websites by
    host name: <bucket>.s3-website.localhost.localstack.cloud, which public DNS points at
    127.0.0.1 (send that Host header where it does not resolve)."""
    if endpoint:
        port = urllib.parse.urlsplit(endpoint).port or 4566
        return f"http://{outputs['PortalBucket']}.s3-website.localhost.localstack.cloud:{port}/"
    # On AWS: CloudFront's https:// address (PortalUrl), or the website endpoint of a stack
    # deployed with PortalHosting=website.
    return outputs.get("PortalUrl") or outputs["PortalWebsiteUrl"] + "/"


def main() -> int:
    import boto3
    from botocore.config import Config

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack-name", required=True)
    p.add_argument("--dist", type=Path, default=HERE.parent / "portal" / "dist")
    p.add_argument("--out", type=Path, help="the stack's outputs file (infra/deploy.py --out): portal_url is added")
    a = p.parse_args()
    if not (a.dist / "index.html").is_file():
        p.error(f"{a.dist}/index.html missing: build the portal first (scripts/build-portal)")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    s3 = session.client("s3", region_name=region,
                        config=Config(s3={"addressing_style": "path"}) if endpoint else None)
    stack = session.client("cloudformation", region_name=region).describe_stacks(
        StackName=a.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "PortalBucket" not in outputs:
        sys.exit(f"portal: stack {a.stack_name} has no PortalBucket output (deployed from an older template?)")
    api = (f"{endpoint.rstrip('/')}/_aws/execute-api/{outputs['ApiId']}/{outputs['StageName']}"
           if endpoint else outputs["ApiUrl"])
    upload_portal(s3, outputs["PortalBucket"], a.dist, api)
    url = portal_url(outputs, endpoint)
    if a.out:
        saved = json.loads(a.out.read_text()) if a.out.is_file() else {}
        saved["portal_url"] = url
        tmp = a.out.with_name(a.out.name + ".tmp")  # whole or not at all for its readers
        tmp.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
        tmp.replace(a.out)
    print(f"portal: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
