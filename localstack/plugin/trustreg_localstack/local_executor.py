"""Lambda executor that runs a function's `bootstrap` as a host process (no Docker).

LocalStack 4.7.0 only ships a Docker executor: it starts a container whose init serves the
Lambda Runtime API and forwards results to LocalStack's executor endpoint. Here we play both
parts in-process: each execution environment gets a loopback HTTP server speaking the Runtime API
(`/2018-06-01/runtime/...`) and one bootstrap process pointed at it via AWS_LAMBDA_RUNTIME_API.
`invoke()` queues the event for `GET .../invocation/next` and blocks until the bootstrap posts
`.../response` or `.../error`.

Supported: custom runtimes (`provided*`) whose zip holds a host-executable `bootstrap` (e.g. a
Rust binary from plain `cargo build`, or a script). The function's architecture is not checked.
Not supported: layers, extensions, container images, response streaming.

Bootstrap stdout/stderr go to `<TRUSTREG_LAMBDA_DIR>/<function>.log`, to the LocalStack log and
to the invocation's CloudWatch log. Each bootstrap runs in its own process group, recorded in
`<TRUSTREG_LAMBDA_DIR>/<executor-id>.pid` so localstack/stop can kill leftovers.
"""

import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from .fidelity import enabled as fidelity_enabled

# A "localstack." logger name so LocalStack's logging setup prints it at INFO.
LOG = logging.getLogger("localstack.trustreg.lambda")

LAMBDA_DIR = Path(os.environ.get("TRUSTREG_LAMBDA_DIR") or Path(tempfile.gettempdir(), "trustreg-lambda"))
API = "/2018-06-01/runtime"
# Host variables a bootstrap needs to run at all; the proxies of LocalStack itself are NOT passed
# (they point at a dead port on purpose, and the function must reach LocalStack directly).
HOST_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "RUST_BACKTRACE")
# AWS: "For synchronous invocations, the maximum payload size is 6 MB."
# https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html. The figure and error AWS reports
# are those of LocalStack's own runtime init (LOCALSTACK_MAX_PAYLOAD_SIZE, 6291556 bytes), which
# this executor replaces: LocalStack passes it as config.LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES.
MAX_RESPONSE = int(getattr(config, "LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES", 0) or 6 * 1024 * 1024 + 100)

# Running environments by function name: fault injection (fidelity/faults.py) finds the
# bootstrap behind an AWS call among them.
RUNNING: dict[str, set["LocalRuntimeExecutor"]] = {}
_running_lock = threading.Lock()


def running(function_name: str) -> list["LocalRuntimeExecutor"]:
    with _running_lock:
        return list(RUNNING.get(function_name, ()))


class LocalRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.env_vars: dict[str, str] = {}
        self.server: ThreadingHTTPServer | None = None
        self.proc: subprocess.Popen | None = None
        self.events: queue.Queue = queue.Queue()  # events waiting for GET .../next
        self.ready = threading.Event()  # set when the bootstrap first asks for an event
        self.init_error: bytes | None = None
        self.current: tuple[str, Future] | None = None  # (request id, result) being invoked
        self.current_payload = ""  # the event being invoked (faults match a test's tag in it)
        self.invoke_lock = threading.Lock()
        self.stopped = False
        self.output: list[str] = []  # bootstrap output of the current invocation
        self.tail: list[str] = []  # last lines of output, for get_logs()
        self.name = function_version.id.function_name
        LAMBDA_DIR.mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- RuntimeExecutor interface
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        code = function_version.config.code
        if code:
            code.prepare_for_execution()  # unzip once per version into LocalStack's code cache

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # LocalStack deletes the unzipped code; processes end in stop()

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"  # becomes AWS_ENDPOINT_URL=http://127.0.0.1:4566 for the function

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}/_localstack_lambda/{self.id}"  # unused by us

    def start(self, env_vars: dict[str, str]) -> None:
        self.env_vars = {k: str(v) for k, v in env_vars.items()}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApiHandler)
        self.server.daemon_threads = True
        self.server.executor = self
        threading.Thread(target=self.server.serve_forever, name=f"lambda-api-{self.id}", daemon=True).start()
        with _running_lock:
            RUNNING.setdefault(self.name, set()).add(self)
        self._spawn()

    def stop(self) -> None:
        self.stopped = True
        with _running_lock:
            RUNNING.get(self.name, set()).discard(self)
        self._kill()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        if self.current and not self.current[1].done():
            self.current[1].set_exception(LambdaRuntimeException("execution environment stopped"))

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self.invoke_lock:
            # After a timeout or crash the process is gone: start a fresh one, as AWS re-inits.
            if self.proc is None or self.proc.poll() is not None:
                self._spawn()
            req_id = payload["invoke-id"]
            future: Future = Future()
            self.output = []
            self.current = (req_id, future)
            self.current_payload = payload.get("payload") or ""
            self.events.put(payload)
            timeout = float(self.function_version.config.timeout or 3)
            try:
                return future.result(timeout=timeout + 0.5)
            except FutureTimeout:
                LOG.warning("[lambda %s] %s timed out after %.0f s, killing the runtime", self.name, req_id, timeout)
                self._kill()
                error = {"errorType": "Sandbox.Timedout",
                         "errorMessage": f"RequestId: {req_id} Error: Task timed out after {timeout:.2f} seconds"}
                return self._result(req_id, json.dumps(error).encode(), is_error=True)
            finally:
                self.current = None
                self.current_payload = ""

    def get_logs(self) -> str:
        return "\n".join(self.tail)

    def pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc and proc.poll() is None else None

    def kill_now(self) -> int | None:
        """SIGKILL of the bootstrap's process group, as a crash or an out-of-memory kill would
        end it (no SIGTERM grace: the fault is that it gets none). The pump thread then answers
        the invocation with Runtime.ExitError; the next invoke starts a fresh process."""
        pid = self.pid()
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return None
        return pid

    # ---------------------------------------------------------------- process handling
    def _spawn(self) -> None:
        code_dir = Path(self.function_version.config.code.get_unzipped_code_location())
        bootstrap = code_dir / "bootstrap"
        if not bootstrap.is_file():
            raise LambdaRuntimeException(f"{self.name}: no 'bootstrap' in {code_dir} (only provided.* runtimes)")
        if not os.access(bootstrap, os.X_OK):
            bootstrap.chmod(0o755)  # zips made without unix modes lose the exec bit
        self.events = queue.Queue()  # drop any event a killed process never fetched
        self.ready.clear()
        self.init_error = None
        env = {k: os.environ[k] for k in HOST_VARS if k in os.environ}
        env.update(self.env_vars)
        env.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.server.server_address[1]}",
            LAMBDA_TASK_ROOT=str(code_dir),
            NO_PROXY="127.0.0.1,localhost",
        )
        self.proc = subprocess.Popen(
            [str(bootstrap)], cwd=code_dir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: kill it with its children
        )
        self._pid_file().write_text(str(self.proc.pid))
        LOG.info("[lambda %s] started bootstrap pid %s for environment %s", self.name, self.proc.pid, self.id)
        threading.Thread(target=self._pump, args=(self.proc,), name=f"lambda-out-{self.id}", daemon=True).start()
        # Ready when the runtime first asks for an event; fail fast if it exits or reports an init error.
        while not self.ready.wait(0.05):
            if self.stopped:
                raise LambdaRuntimeException(f"{self.name}: environment stopped during start-up")
            if self.proc.poll() is not None:
                raise LambdaRuntimeException(
                    f"{self.name}: bootstrap exited with {self.proc.returncode} during init:\n{self.get_logs()}")
        if self.init_error is not None:
            self._kill()
            raise LambdaRuntimeException(f"{self.name}: init error: {self.init_error.decode(errors='replace')}")

    def _pump(self, proc: subprocess.Popen) -> None:
        """Copy the bootstrap's output to its log file and the LocalStack log; notice its exit."""
        with open(LAMBDA_DIR / f"{self.name}.log", "a", buffering=1) as log_file:
            for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                log_file.write(line + "\n")
                LOG.info("[lambda %s] %s", self.name, line)
                self.output.append(line)
                self.tail = (self.tail + [line])[-100:]
        code = proc.wait()
        current = self.current
        if current and proc is self.proc and not current[1].done():
            # Died mid-invocation: report it like AWS does instead of waiting for the timeout.
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {current[0]} Error: Runtime exited with error: exit status {code}"}
            current[1].set_result(self._result(current[0], json.dumps(error).encode(), is_error=True))

    def _kill(self) -> None:
        proc = self.proc
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(2)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(2)
            except ProcessLookupError:
                pass
        self._pid_file().unlink(missing_ok=True)

    def _pid_file(self) -> Path:
        return LAMBDA_DIR / f"{self.id}.pid"

    def _result(self, req_id: str, body: bytes, is_error: bool) -> InvocationResult:
        return InvocationResult(req_id, body, is_error=is_error, logs="\n".join(self.output) + "\n")

    # ---------------------------------------------------------------- called by the Runtime API
    def next_event(self) -> dict | None:
        self.ready.set()
        while not self.stopped:
            try:
                return self.events.get(timeout=1)
            except queue.Empty:
                continue
        return None

    def post_result(self, req_id: str, body: bytes, is_error: bool) -> bool:
        current = self.current
        if not current or current[0] != req_id or current[1].done():
            return False
        # Let the pump thread catch up so the log holds what the function printed before answering.
        time.sleep(0.01)
        if len(body) > MAX_RESPONSE and fidelity_enabled():
            body = json.dumps({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
            }).encode()
            is_error = True
        current[1].set_result(self._result(req_id, body, is_error))
        return True

    def post_init_error(self, body: bytes) -> None:
        self.init_error = body or b"{}"
        self.ready.set()


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Lambda Runtime API, 2018-06-01 (what lambda_runtime and curl loops talk to)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the Rust runtime client expects

    def log_message(self, *args):  # no access log on stderr
        pass

    @property
    def executor(self) -> LocalRuntimeExecutor:
        return self.server.executor

    def do_GET(self):
        if self.path != f"{API}/invocation/next":
            return self._reply(404, b'{"errorType":"NotFound"}')
        event = self.executor.next_event()
        if event is None:
            return self._reply(410, b"")
        timeout_ms = int(float(self.executor.function_version.config.timeout or 3) * 1000)
        headers = {
            "Lambda-Runtime-Aws-Request-Id": event["invoke-id"],
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": event["invoked-function-arn"],
            "Lambda-Runtime-Trace-Id": event.get("trace-id") or "",
        }
        self._reply(200, event["payload"].encode(), headers)

    def do_POST(self):
        body = self._body()
        parts = self.path[len(API):].strip("/").split("/")
        if parts == ["init", "error"]:
            self.executor.post_init_error(body)
            return self._reply(202, b'{"status":"OK"}')
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            is_error = parts[2] == "error"
            if is_error and not body:
                kind = self.headers.get("Lambda-Runtime-Function-Error-Type", "Unhandled")
                body = json.dumps({"errorType": kind, "errorMessage": kind}).encode()
            if self.executor.post_result(parts[1], body, is_error):
                return self._reply(202, b'{"status":"OK"}')
            return self._reply(400, b'{"errorType":"InvalidRequestID"}')
        self._reply(404, b'{"errorType":"NotFound"}')

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
