"""The whole system on loopback: moto for AWS, the template's resources, its functions, API and event source mappings.

template.yaml is the single source of truth: the tables, the queues and the admin token secret are created from
their definitions, each function gets the environment the template gives it (Globals merged with its own),
routes and the authorizer come from the HttpApi events, the stream mapping's settings from the mapping.
The only local differences a function can see are the endpoint and the dummy credentials.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local import faults, moto_fixes
from local.api import ApiServer, Gateway, discover_routes
from local.esm import EventSourceMapping, Invocation, MappingSettings
from local.functions import FunctionPool, function_specs
from local.log_view import Printer
from local.poller import StreamPoller
from local.receiver import ReceivedRequest, Receiver
from local.resolve import ACCOUNT_ID, REGION, Resolver
from local.sqs_poller import QueueMappingSettings, QueuePoller
from local.template import load_template, table_definition

STACK_NAME = "signup-webhooks-local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
# Settings the local stack needs wherever the template declares them: the receivers are http:// on loopback.
LOCAL_PARAMETERS = {"AllowHttpTargets": "true", "AllowPrivateTargets": "true"}
LOCAL_VARIABLES = {"ALLOW_HTTP_TARGETS": "true", "ALLOW_PRIVATE_TARGETS": "true"}
QUEUE_ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "VisibilityTimeout")
# The local default: seconds rather than hours, so that `make run` shows the whole schedule in under a minute.
LOCAL_RETRY_SCHEDULE = "2s,4s,8s"


@dataclass
class Options:
    api_port: int = 3000
    host: str = "127.0.0.1"
    webhook_url: str | None = None  # None: start the demo receiver and use it
    env_vars: dict[str, dict[str, str]] = field(default_factory=dict)  # as `sam local --env-vars`
    stack_name: str = STACK_NAME
    retry_schedule: str = LOCAL_RETRY_SCHEDULE  # RETRY_SCHEDULE; the template's RetrySchedule parameter
    # The most execution environments of a function (logical id), as Lambda runs one per concurrent invocation;
    # others get 1, or a stream mapping's ParallelizationFactor. More start on demand, so starting costs nothing more.
    environments: dict[str, int] = field(default_factory=dict)
    json_logs: bool = False  # the functions' log records whole, not summarised (local/log_view.py)


class Stack:
    def __init__(self, options: Options, printer: Callable[[str, str], None] | None = None) -> None:
        self.options = options
        self.print = printer or Printer(json_logs=options.json_logs)
        self.template = load_template()
        self.functions: dict[str, FunctionPool] = {}
        self.receiver: Receiver | None = None
        self.admin_token = ""
        self.startup_seconds = 0.0
        self._moto: ThreadedMotoServer | None = None
        self.faults = faults.Faults()
        self._faulty: faults.FaultyServer | None = None
        self._api: ApiServer | None = None
        self._poller: StreamPoller | None = None
        self._queue_pollers: list[QueuePoller] = []

    # ---- life cycle ---------------------------------------------------------------------------------------------

    def start(self) -> Stack:
        started = time.monotonic()
        self._api = ApiServer(None, self.options.host, self.options.api_port)  # fails now if the port is taken
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start(self) -> None:
        assert self._api is not None
        if self.options.webhook_url is None:
            self.receiver = Receiver(host=self.options.host, on_request=self._show_webhook).start()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log: one line per AWS call
        moto_fixes.apply()
        self._moto = ThreadedMotoServer(ip_address=self.options.host, port=0, verbose=False)
        self._moto.start()
        self.aws_endpoint = "http://{}:{}".format(*self._moto.get_host_and_port())
        # The functions' own endpoint: the same moto state, with the shares of /_local/faults failing.
        self._faulty = faults.FaultyServer(self.faults, self.options.host).start()
        self.functions_aws_endpoint = self._faulty.url

        overrides = {name: value for name, value in LOCAL_PARAMETERS.items() if name in self.template["Parameters"]}
        overrides["WebhookUrl"] = self.webhook_url
        overrides["RetrySchedule"] = self.options.retry_schedule
        overrides.update(self.options.env_vars.get("Parameters", {}))
        self.resolver = Resolver(self.template, self.options.stack_name, overrides)
        self._create_resources()

        concurrency = self._mapping_concurrency()
        mapped = {r["Properties"]["FunctionName"]["Ref"] for r in self._event_source_mappings().values()}
        for spec in function_specs(self.template, self.resolver).values():
            size = max(concurrency.get(spec.logical_id, 1), self.options.environments.get(spec.logical_id, 1))
            background = spec.logical_id in mapped
            function = FunctionPool(spec, self._base_environment(spec), self.print, size, background)
            self.functions[spec.logical_id] = function
        for function in self.functions.values():
            function.start()  # the workers' cold starts run in parallel
        for function in self.functions.values():
            function.wait_ready()

        self.routes = discover_routes(self.template)
        self._api.gateway = Gateway(self.routes, self._invoke)
        self._api.local_routes[faults.ROUTE] = lambda request: faults.route(self.faults, request)
        self._api.on_answer = lambda method, path, status: self.print("api", f"{method} {path} {status}")
        self._api.start()
        self._start_stream_mappings()

    def stop(self) -> None:
        if self._api:
            self._api.stop()
            self._api = None
        if self._poller:
            self._poller.stop()
            self._poller = None
        for poller in self._queue_pollers:
            poller.stop()
        self._queue_pollers = []
        for function in self.functions.values():
            function.stop()
        if self.receiver:
            self.receiver.stop()
        if self._faulty:
            self._faulty.stop()
            self._faulty = None
        if self._moto:
            self._moto.stop()
            self._moto = None

    # ---- what the stack offers ----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self._api is not None
        return self._api.url

    @property
    def webhook_url(self) -> str:
        if self.options.webhook_url is not None:
            return self.options.webhook_url
        assert self.receiver is not None
        return self.receiver.url

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def info(self) -> dict[str, Any]:
        """What a script or a test needs to drive the stack (`--ready-file`)."""
        return {
            "api_url": self.api_url,
            "admin_token": self.admin_token,
            "aws_endpoint": self.aws_endpoint,
            "functions_aws_endpoint": self.functions_aws_endpoint,
            "faults_url": f"{self.api_url}{faults.ROUTE}",
            "webhook_url": self.webhook_url,
            "region": REGION,
            "stack_name": self.options.stack_name,
            "parameters": {**self.resolver.overrides},  # with the names below: `make invoke` resolves the template
            "resources": {**self.resolver.refs},
            "startup_seconds": round(self.startup_seconds, 2),
            "functions": {name: f.spec.name for name, f in self.functions.items()},
            "environments": {name: f.environment for name, f in self.functions.items()},  # for `make invoke`
        }

    # ---- resources from the template ----------------------------------------------------------------------------

    def _create_resources(self) -> None:
        creators = {
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::SecretsManager::Secret": self._create_secret,
            "AWS::SSM::Parameter": self._create_parameter,
        }
        for logical_id, resource in self.template["Resources"].items():
            create = creators.get(resource["Type"])
            if create:
                create(logical_id, self.resolver.resolve(resource.get("Properties", {})))

    def _create_table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or self.resolver.physical_name(logical_id)
        table = self.client("dynamodb").create_table(TableName=name, **table_definition(self.template, logical_id))
        description = table["TableDescription"]
        self.resolver.refs[logical_id] = name
        self.resolver.attributes[logical_id] = {"Arn": description["TableArn"]}
        if "LatestStreamArn" in description:
            self.resolver.attributes[logical_id]["StreamArn"] = description["LatestStreamArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):  # the idempotency table's records expire, as on AWS
            self.client("dynamodb").update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or self.resolver.physical_name(logical_id)
        attributes = {key: str(props[key]) for key in QUEUE_ATTRIBUTES if key in props}
        if "RedrivePolicy" in props:  # the dead-letter queue it names is made first (template order)
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.resolver.refs[logical_id] = url
        self.resolver.attributes[logical_id] = {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def _create_secret(self, logical_id: str, props: dict[str, Any]) -> None:
        generate = props.get("GenerateSecretString")
        if generate is None:
            value = str(props.get("SecretString", ""))
        else:
            alphabet = string.ascii_letters + string.digits
            if not generate.get("ExcludePunctuation"):
                alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
            value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
            self.admin_token = value  # the template has one generated secret: the admin token
        name = props.get("Name") or f"{logical_id}-{self.options.stack_name}"
        arn = self.client("secretsmanager").create_secret(
            Name=name, SecretString=value, Description=props.get("Description", "")
        )["ARN"]
        self.resolver.refs[logical_id] = arn

    def _create_parameter(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self.resolver.physical_name(logical_id)
        self.client("ssm").put_parameter(Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"))
        self.resolver.refs[logical_id] = name

    # ---- functions ----------------------------------------------------------------------------------------------

    def _base_environment(self, spec: Any) -> dict[str, str]:
        """What Lambda sets in a function's environment (moto, behind the fault injection, as the endpoint), the
        template's variables over it,
        then the local settings and `--env-vars` overrides, for variables the template declares (as sam local)."""
        declared = spec.environment
        local = {k: v for k, v in LOCAL_VARIABLES.items() if k in declared}
        overrides = {k: v for k, v in self.options.env_vars.get(spec.logical_id, {}).items() if k in declared}
        base = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_ENDPOINT_URL": self.functions_aws_endpoint,
            **CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
        }
        recording = {k: v for k, v in os.environ.items() if k == "AWS_CALL_LOG"}  # the test suite's (aws_calls.py)
        return {**base, **declared, **local, **overrides, **recording}

    def _invoke(self, function_id: str, event: dict[str, Any]) -> Invocation:
        return self.functions[function_id].invoke(event)

    def _event_source_mappings(self) -> dict[str, dict[str, Any]]:
        return {i: r for i, r in self.template["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"}

    def _mapping_concurrency(self) -> dict[str, int]:
        """Execution environments a mapped function may need at once: a stream mapping's ParallelizationFactor (one
        shard locally), as Lambda scales a stream consumer to shards times the factor, plus each queue mapping's
        MaximumConcurrency, so that one mapping's invocations never wait for another's."""
        sizes: dict[str, int] = {}
        for mapping_id, resource in self._event_source_mappings().items():
            if _is_queue(resource):
                queue = QueueMappingSettings.from_template(self.template, mapping_id, self.resolver)
                function_id, size = queue.function_id, queue.maximum_concurrency
            else:
                stream = MappingSettings.from_template(self.template, mapping_id, self.resolver)
                function_id, size = stream.function_id, stream.parallelization_factor
            sizes[function_id] = sizes.get(function_id, 0) + size
        return sizes

    def _start_stream_mappings(self) -> None:
        mappings = [i for i, r in self.template["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
        for mapping_id in mappings:
            if _is_queue(self.template["Resources"][mapping_id]):
                self._start_queue_mapping(mapping_id)
            else:
                self._start_stream_mapping(mapping_id)

    def _start_stream_mapping(self, mapping_id: str) -> None:
        settings = MappingSettings.from_template(self.template, mapping_id, self.resolver)
        if self._poller is not None:  # one stream mapping: a second would need its own poller
            raise RuntimeError(f"{mapping_id}: the local stack runs one stream mapping")
        self.stream_settings = settings

        def mapping_for(shard_id: str, settings: MappingSettings = settings) -> EventSourceMapping:
            return EventSourceMapping(
                settings, self._stream_invoke(settings), self._send_on_failure, shard_id, sleep=time.sleep
            )

        self._poller = StreamPoller(
            self.client("dynamodbstreams"), settings, mapping_for, lambda line: self.print("stream", line)
        )
        self._poller.start()

    def _start_queue_mapping(self, mapping_id: str) -> None:
        settings = QueueMappingSettings.from_template(self.template, mapping_id, self.resolver)
        poller = QueuePoller(
            self.client("sqs"),
            settings,
            lambda event: self._invoke(settings.function_id, event),
            lambda line: self.print("queue", line),
        )
        self._queue_pollers.append(poller)
        poller.start()

    def _stream_invoke(self, settings: MappingSettings) -> Callable[[dict[str, Any]], Invocation]:
        def invoke(event: dict[str, Any]) -> Invocation:
            sequence = ", ".join(r["dynamodb"]["SequenceNumber"] for r in event["Records"])
            self.print("stream", f"{settings.function_id} <- {len(event['Records'])} record(s): {sequence}")
            return self._invoke(settings.function_id, event)

        return invoke

    def _send_on_failure(self, message: dict[str, Any]) -> None:
        destination = self.stream_settings.on_failure or ""
        if ":sqs:" not in destination:
            self.print("stream", f"OnFailure destination {destination} is not an SQS queue: message dropped")
            return
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1], QueueOwnerAWSAccountId=ACCOUNT_ID)
        sqs.send_message(QueueUrl=url["QueueUrl"], MessageBody=json.dumps(message))
        info = message["DDBStreamBatchInfo"]
        first, size = info["startSequenceNumber"], info["batchSize"]
        self.print("stream", f"gave up on {size} record(s) from {first}: batch info sent to the OnFailure queue")

    # ---- the demo receiver --------------------------------------------------------------------------------------

    def _show_webhook(self, request: ReceivedRequest) -> None:
        self.print("receiver", f"{request.method} {request.path}")
        for name, value in request.headers.items():
            self.print("receiver", f"  {name}: {value}")
        self.print("receiver", f"  {request.body.decode('utf-8', 'replace')}")


def _is_queue(mapping: dict[str, Any]) -> bool:
    """Whether an event source mapping reads a queue of the template (its Arn) rather than a stream (StreamArn)."""
    source = mapping["Properties"]["EventSourceArn"]
    return "Fn::GetAtt" in source and source["Fn::GetAtt"][1] == "Arn"
