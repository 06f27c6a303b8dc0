#!/usr/bin/env python3
"""Every requirement ID with the tests that cite it and what each asserts (its comment).

Usage: scripts/requirement_map.py [--brief] REQUIREMENTS.md [ROOT]

--brief: one test per ID, the one that says most about what it asserts, preferring the tests
that go through the deployed stack (tests/, cli/tests/).

A test cites an ID in a comment of the exact form `// Y.3059 9.2 i b` or `// card C4`, right
above the test (with the comment that says what it asserts) or at the top of its file (for
every test of the file). IDs no test cites are listed first: the map is a check too, and exits
1 when one is missing.
"""

import re
import sys
from pathlib import Path

CITE = re.compile(r"^\s*//\s*(Y\.3059 [0-9][0-9.]*(?: [a-z-]+)*|card C[0-9]+)\s*$")
TEST_ATTR = re.compile(r"^\s*#\[(tokio::)?test")
FN = re.compile(r"^\s*(?:pub\s+)?(?:async\s+)?fn\s+([a-z0-9_]+)")
JS_TEST = re.compile(r"""^\s*test\(\s*['"`](.+?)['"`]""")


def requirement_ids(path):
    ids = []
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^- \*\*([^*]+)\*\*", line)
        if m:
            raw = m.group(1).strip()
            ids.append(("card " + raw) if raw.startswith("C") else ("Y.3059 " + raw))
    return ids


def rust_citations(path):
    """(id, test, description) for each citation above a test, and at the top of the file."""
    lines = path.read_text().splitlines()
    found = []
    header = []
    seen_code = False
    pending, description = [], []
    for i, line in enumerate(lines):
        m = CITE.match(line)
        if m:
            pending.append(m.group(1))
            continue
        stripped = line.strip()
        if pending and stripped.startswith("//"):
            description.append(stripped.lstrip("/ ").strip())
            continue
        if pending and (TEST_ATTR.match(line) or stripped.startswith("#[")):
            continue
        fn = FN.match(line)
        if pending and fn:
            test = f"{path}::{fn.group(1)}"
            for cid in pending:
                found.append((cid, test, " ".join(description)))
            pending, description = [], []
            continue
        if pending and not seen_code and not stripped:
            # Citations at the top of a file, before any code: every test of the file.
            header.extend(pending)
            pending, description = [], []
            continue
        if stripped and not stripped.startswith("//"):
            if pending and not seen_code:
                header.extend(pending)
            seen_code = True
            pending, description = [], []
    if header:
        tests = 0
        for j, line in enumerate(lines):
            if TEST_ATTR.match(line):
                tests += 1
        for cid in header:
            found.append((cid, f"{path} (its {tests} tests)", "the file's subject"))
    return found


def js_citations(path):
    lines = path.read_text().splitlines()
    cites = [m.group(1) for m in (CITE.match(line) for line in lines) if m]
    tests = [m.group(1) for m in (JS_TEST.match(line) for line in lines) if m]
    return [(cid, f"{path}: {t}", "") for cid in cites for t in tests]


def main():
    args = sys.argv[1:]
    brief = "--brief" in args
    args = [a for a in args if a != "--brief"]
    if not args:
        sys.exit(__doc__)
    ids = requirement_ids(args[0])
    root = Path(args[1] if len(args) > 1 else ".")
    citations = []
    for path in sorted(root.rglob("*.rs")):
        if "target" in path.parts or ".trustreg" in path.parts:
            continue
        citations.extend(rust_citations(path))
    for path in sorted(root.glob("portal/e2e/tests/*.js")):
        citations.extend(js_citations(path))
    by_id = {cid: [] for cid in ids}
    unknown = set()
    for cid, test, description in citations:
        if cid in by_id:
            by_id[cid].append((test, description))
        else:
            unknown.add(cid)
    missing = [cid for cid, tests in by_id.items() if not tests]
    print(f"# Requirements and the tests that prove them ({len(ids)} IDs)\n")
    if missing:
        print("Not cited by any test: " + ", ".join(missing) + "\n")
    if unknown:
        print("Cited but not a requirement ID: " + ", ".join(sorted(unknown)) + "\n")
    for cid in ids:
        tests = by_id[cid]
        if brief:
            if not tests:
                continue
            end_to_end = [t for t in tests if t[0].startswith(("tests/tests/", "cli/tests/"))]
            test, description = max(end_to_end or tests, key=lambda t: len(t[1]))
            print(f"- **{cid}** ({len(tests)} tests), e.g. `{test}`" + (f": {description}" if description else ""))
            continue
        print(f"## {cid} ({len(tests)} tests)")
        for test, description in tests:
            print(f"- `{test}`" + (f": {description}" if description else ""))
        print()
    sys.exit(1 if missing or unknown else 0)


if __name__ == "__main__":
    main()
