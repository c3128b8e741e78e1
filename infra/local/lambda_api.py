"""Lambda's Invoke API, locally (POST /2015-03-31/functions/<name>/invocations): what boto3's
`lambda.invoke` sends when AWS_ENDPOINT_URL_LAMBDA points here. An `Event` invocation is answered 202 at
once and run in a thread of its own, as Lambda queues it; a `RequestResponse` one is run and answered with
what the function returned. The stack's gateway serves it for its functions' worker processes; the tests
and benches serve it with `LambdaServer` for handlers in their own process."""

import contextlib
import json
import re
import threading
import traceback
from collections.abc import Callable, Container
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

PREFIX = "/_local/lambda"
_INVOCATIONS = re.compile(rf"(?:{PREFIX})?/2015-03-31/functions/([^/]+)/invocations")

Run = Callable[[str, dict], object]  # a function's name and event -> what it returned (raises if it failed)


def function_of(path: str) -> str | None:
    """The function an Invoke request's path names, or None if it is not one."""
    found = _INVOCATIONS.fullmatch(path)
    return unquote(found[1]) if found else None


def _error(status: int, kind: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps({"Type": "User", "message": message}).encode(), {"x-amzn-errortype": kind}


def invoke(
    name: str,
    invocation_type: str | None,
    body: bytes | None,
    run: Run,
    known: Container[str],
    queue: bool = True,
) -> tuple[int, bytes, dict[str, str]]:
    """The answer to an Invoke request: status, body, headers. `queue`: an Event runs in a thread of its own
    (False: before the answer, for a caller that only queues it itself, as the benches do)."""
    if name not in known:
        return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
    try:
        event = json.loads(body or b"{}")
    except ValueError:
        return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
    if invocation_type == "Event":

        def queued() -> None:
            try:
                run(name, event)
            except Exception:  # noqa: BLE001 - as Lambda, a failed event is logged, nobody waits for it
                print(f"[{name}] asynchronous invocation failed:\n{traceback.format_exc()}")

        if queue:
            threading.Thread(target=queued, name=f"invoke-{name}", daemon=True).start()
        else:
            queued()
        return 202, b"", {}
    try:
        return 200, json.dumps(run(name, event), default=str).encode(), {}
    except Exception as error:  # noqa: BLE001 - a function error is the caller's to read, as Lambda's
        failed = {"errorMessage": str(error), "errorType": type(error).__name__}
        return 200, json.dumps(failed).encode(), {"x-amz-function-error": "Unhandled"}


class LambdaServer(ThreadingHTTPServer):
    """The Invoke API on its own port, for the tests and benches: `run` does each invocation."""

    daemon_threads = True
    # A fan-out starts its parts 32 at a time: with socketserver's backlog of 5 the rest of the connections
    # were dropped and tried again a second later.
    request_queue_size = 128

    def __init__(self, run: Run, known: Container[str], port: int = 0, queue: bool = True) -> None:
        self.run, self.known, self.queue = run, known, queue
        # Entered while a request is answered: the benches take that time out of the callers' (it is AWS's).
        self.answering: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "LambdaServer":
        threading.Thread(target=self.serve_forever, name="lambda-api", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: LambdaServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        with self.server.answering():
            name = function_of(self.path.split("?", 1)[0])
            if name is None:
                status, raw, headers = _error(404, "ResourceNotFoundException", "Not an Invoke request")
            else:
                invocation_type = self.headers.get("x-amz-invocation-type")
                status, raw, headers = invoke(
                    name, invocation_type, body, self.server.run, self.server.known, self.server.queue
                )
            self.send_response(status)
            for key, value in {"content-type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
