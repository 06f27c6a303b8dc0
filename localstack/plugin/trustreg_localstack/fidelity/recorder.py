"""Appends every IAM-evaluated call to a JSONL file (TRUSTREG_IAM_LOG), one object a line:
time, role, session, service, operation, action, resource, allowed, decision, grant (the
statement that decided), internal (made by LocalStack for the role, e.g. an event source
mapping's poller). scripts/iam-report reads it."""

import json
import os
import threading
import time

_path = os.environ.get("TRUSTREG_IAM_LOG")
_lock = threading.Lock()
_file = None


def record(**fields) -> None:
    global _file
    if not _path:
        return
    line = json.dumps({"t": round(time.time(), 3), **fields}, separators=(",", ":")) + "\n"
    with _lock:
        if _file is None:
            os.makedirs(os.path.dirname(_path) or ".", exist_ok=True)
            _file = open(_path, "a", buffering=1)
        _file.write(line)
