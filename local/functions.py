"""The stack's Lambda functions, each execution environment a worker process of its own.

Why one process per function: every handler reads its configuration once, at import (`load_config()` at module
level), and all of them share the `signup_hooks` package, its boto3 client cache and Powertools' parameter cache.
In one interpreter they would need per-function module copies and environment patching under a lock; separate
processes give each function exactly the environment the template gives it, an import-time cold start like
Lambda's, one invocation at a time per environment, a timeout that can really stop a stuck handler, and log lines
that are easy to label (each process's stdout is its function's log). The four workers start in parallel and
import in about 0.3 s, so start-up stays well under the 5-second goal. A function that the stream mapping invokes
several times at once (ParallelizationFactor) gets more environments on demand, up to that many (`FunctionPool`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.esm import Invocation
from local.resolve import Resolver
from local.template import ROOT

WORKER = Path(__file__).resolve().parent / "worker.py"
FUNCTION_TYPES = ("AWS::Serverless::Function",)

Printer = Callable[[str, str], None]  # (label, line)
# CPU priority (nice) of the functions that event source mappings invoke. On AWS they never run on the machine that
# answers a signup; here every environment shares the same cores, and a stream consumer keeping up with a slow or down
# receiver (ten environments retrying at once) would otherwise take the CPU from the signup it must never slow down.
BACKGROUND_NICE = 10


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    layers: list[Path]
    handler: str
    timeout: float
    memory: int
    log_group: str
    environment: dict[str, str]


def function_specs(template: dict[str, Any], resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every function of the template, with Globals applied and its environment resolved."""
    globals_ = template.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in FUNCTION_TYPES:
            continue
        props = {**globals_, **resource["Properties"]}
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        logging = resolver.resolve(props.get("LoggingConfig", {}))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=resolver.ref(logical_id),
            arn=resolver.get_att(logical_id, "Arn"),
            code_dir=ROOT / props["CodeUri"],
            layers=[_layer_dir(template, layer) for layer in props.get("Layers", [])],
            handler=props["Handler"],
            timeout=float(resolver.resolve(props.get("Timeout", 3))),
            memory=int(resolver.resolve(props.get("MemorySize", 128))),
            log_group=logging.get("LogGroup", f"/aws/lambda/{resolver.ref(logical_id)}"),
            environment={k: str(v) for k, v in resolver.resolve(variables).items()},
        )
    return specs


def _layer_dir(template: dict[str, Any], layer: Any) -> Path:
    logical_id = layer.get("Ref") if isinstance(layer, dict) else None
    resource = template["Resources"].get(logical_id or "", {})
    if resource.get("Type") != "AWS::Serverless::LayerVersion":
        raise ValueError(f"only layers of this template can run locally, not {layer}")
    return ROOT / resource["Properties"]["ContentUri"]


class LocalFunction:
    """A function's worker process. `invoke` runs one event, one at a time, within the function's timeout."""

    def __init__(
        self, spec: FunctionSpec, environment: dict[str, str], printer: Printer, background: bool = False
    ) -> None:
        self.spec = spec
        self.background = background  # invoked by an event source mapping, not by a request: see BACKGROUND_NICE
        self._env = environment  # the whole environment: the worker inherits nothing else
        self._print = printer
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._requests: Any = None

    @property
    def environment(self) -> dict[str, str]:
        return dict(self._env)

    def start(self) -> None:
        """Launch the worker; `wait_ready` waits for its cold start."""
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        worker_spec = {
            "logical_id": self.spec.logical_id,
            "function_name": self.spec.name,
            "function_arn": self.spec.arn,
            "memory": self.spec.memory,
            "timeout": self.spec.timeout,
            "log_group": self.spec.log_group,
            "handler": self.spec.handler,
            "code_dir": str(self.spec.code_dir),
            "layers": [str(path) for path in self.spec.layers],
            "nice": BACKGROUND_NICE if self.background else 0,
        }
        self._answers = queue.Queue()
        self._process = subprocess.Popen(  # noqa: S603 - our own worker script with our interpreter
            [sys.executable, str(WORKER), json.dumps(worker_spec), str(request_read), str(answer_write)],
            env=self._env,
            cwd=self.spec.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            pass_fds=(request_read, answer_write),
            start_new_session=True,  # Ctrl-C reaches the stack, which stops the workers itself
        )
        os.close(request_read)
        os.close(answer_write)
        self._requests = os.fdopen(request_write, "w")
        threading.Thread(target=self._pump_log, args=(self._process,), daemon=True).start()
        threading.Thread(target=self._pump_answers, args=(answer_read, self._answers), daemon=True).start()

    def wait_ready(self, timeout: float = 10.0) -> None:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.spec.logical_id} did not start within {timeout:.0f} s") from None
        if not answer or not answer.get("ready"):
            error = (answer or {}).get("error", {})
            raise RuntimeError(f"{self.spec.logical_id} failed to start: {error.get('errorMessage', 'exited')}")

    def invoke(self, event: dict[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        with self._lock:
            self._print(self.spec.logical_id, f"START RequestId: {request_id} Version: $LATEST")
            started = time.monotonic()
            answer = self._call(request_id, event)
            duration = (time.monotonic() - started) * 1000
            self._print(self.spec.logical_id, f"END RequestId: {request_id}")
            self._print(self.spec.logical_id, f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms")
        if "result" in answer:
            return Invocation(payload=answer["result"], request_id=request_id)
        return Invocation(payload=answer.get("error"), error="Unhandled", request_id=request_id)

    def _call(self, request_id: str, event: dict[str, Any]) -> dict[str, Any]:
        try:
            self._requests.write(json.dumps({"request_id": request_id, "event": event}) + "\n")
            self._requests.flush()
            answer = self._answers.get(timeout=self.spec.timeout)
        except queue.Empty:
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            self._print(self.spec.logical_id, f"{request_id} {message}")
            self._restart()
            return {"error": {"errorType": "Sandbox.Timedout", "errorMessage": message}}
        except (BrokenPipeError, ValueError):
            answer = None
        if answer is None:
            self._restart()
            return {"error": {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"}}
        return answer

    def _restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            self._requests.close()  # the worker's loop ends at end of input
        try:
            process.wait(timeout=1)  # an invocation still running is cut off, as when Lambda recycles an environment
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _pump_log(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._print(self.spec.logical_id, line.rstrip("\n"))

    @staticmethod
    def _pump_answers(fd: int, answers: queue.Queue[dict[str, Any] | None]) -> None:
        with os.fdopen(fd) as stream:
            for line in stream:
                answers.put(json.loads(line))
        answers.put(None)  # the worker exited


class FunctionPool:
    """Up to `size` execution environments of one function, as Lambda runs one per concurrent invocation.

    One environment starts with the stack. Another starts (a cold start) only when an invocation finds every one
    busy and fewer than `size` exist; otherwise the invocation waits for one to be free. Each environment runs one
    invocation at a time (`LocalFunction`). The stack sizes the notifier's pool by the stream mapping's
    ParallelizationFactor, the retry function's by its queue mappings' MaximumConcurrency (added), every other at one,
    unless `--environments` asks for more.
    """

    def __init__(
        self, spec: FunctionSpec, environment: dict[str, str], printer: Printer, size: int = 1, background: bool = False
    ) -> None:
        self.spec = spec
        self._env = environment
        self._print = printer
        self.size = max(1, size)
        self.background = background
        self._lock = threading.Lock()
        self._workers: list[LocalFunction] = []
        self._idle: queue.LifoQueue[LocalFunction] = queue.LifoQueue()  # the warmest environment is reused first

    @property
    def environment(self) -> dict[str, str]:
        return dict(self._env)

    @property
    def started(self) -> int:
        """How many environments this function has now."""
        return len(self._workers)

    def start(self) -> None:
        first = LocalFunction(self.spec, self._env, self._print, self.background)
        self._workers = [first]
        first.start()

    def wait_ready(self, timeout: float = 10.0) -> None:
        self._workers[0].wait_ready(timeout)
        self._idle.put(self._workers[0])

    def invoke(self, event: dict[str, Any]) -> Invocation:
        worker = self._take()
        try:
            return worker.invoke(event)
        finally:
            self._idle.put(worker)

    def _take(self) -> LocalFunction:
        with contextlib.suppress(queue.Empty):
            return self._idle.get_nowait()
        with self._lock:
            grow = len(self._workers) < self.size
            if grow:
                worker = LocalFunction(self.spec, self._env, self._print, self.background)
                self._workers.append(worker)
        if grow:
            try:
                worker.start()
                worker.wait_ready()
                return worker
            except RuntimeError as exc:  # it could not start: wait for one that runs
                self._print(self.spec.logical_id, f"another execution environment did not start: {exc}")
                worker.stop()
                with self._lock:
                    self._workers.remove(worker)
        return self._idle.get()

    def stop(self) -> None:
        for worker in list(self._workers):
            worker.stop()
