"""The product's functions wired to the CodePipeline semantics model, on moto.

The model (tests/codepipeline_model) runs a synthesized pipeline on a
simulated clock and sends EventBridge events in AWS's shapes; this harness
routes them as the monitoring stack's rules do:

- pipeline and stage state changes -> the deployment recorder;
- a health alarm entering ALARM -> the rollback function;
- a health alarm's changes -> the incident recorder;

and answers the functions' CodePipeline calls from the model (validated
against botocore's model there). DynamoDB, CloudWatch and SNS are moto's. The
rollbacks topic is read through an SQS queue: `pages()`.

The model imports no product code; this is where the two meet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3

from environments import load
from environments.config import ChangeWindow
from functions.shared import dora, records
from tests.codepipeline_model import Readings, Simulation, World
from tests.codepipeline_model.calendar import CalendarSSM
from tests.support.tables import all_items, create_deployments_table
from topology import naming

UTC = dt.UTC
ALARM_EVENT = "CloudWatch Alarm State Change"
PIPELINE_EVENTS = ("CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change")


@dataclass
class Context:
    """A Lambda context: the request ID and a generous budget."""

    aws_request_id: str = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@dataclass
class DeliveryWorld:
    """One environment's pipeline in the model, with the product's functions."""

    env: str
    pipeline: dict
    start: dt.datetime
    readings: Readings = field(default_factory=Readings)
    mutations: Iterable[str] = ()
    artifact_days: int = 90
    monkeypatch: Any = None
    # Run the execution-age function every 5 minutes (costly over a
    # simulated week: only the scenarios that judge ExecutionAge ask for it).
    ages_every_5_minutes: bool = False
    # The change calendar (tests/codepipeline_model/calendar.py answers its
    # SSM calls) and the freeze gate, run every minute as its schedule does.
    freezes: bool = False

    def __post_init__(self):
        names = naming.ResourceNames(self.env, "123456789012")
        self.names = names
        self.health = {target: names.health_alarm(target) for target in naming.DEPLOY_STAGES}
        self.world = World(default_duration=dt.timedelta(minutes=5))
        for alarm in (*self.health.values(), names.health_probe_silent_alarm):
            self.world.alarm(alarm, initial="OK")
        deploys = {stage: {p.action for p in _deploy_rows(stage)} for stage in naming.DEPLOY_STAGES.values()}
        self.sim = Simulation(
            self.pipeline,
            self.world,
            start=self.start,
            readings=self.readings,
            mutations=self.mutations,
            deploys=deploys,
            artifact_lifecycle_days=self.artifact_days,
        )
        self.table = create_deployments_table(self.env)
        self._topic_and_inbox()
        self._functions()
        self.sim.subscribe(self.route)
        self.delivered: list[tuple[str, dict]] = []

    # --- wiring -------------------------------------------------------------------------
    def _topic_and_inbox(self) -> None:
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        self.topic = sns.create_topic(Name=self.names.topic("rollbacks"))["TopicArn"]
        self.queue = sqs.create_queue(QueueName=f"{self.env}-pages")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn)
        self._pages: list[dict] = []

    def _functions(self) -> None:
        env, names, mp = self.env, self.names, self.monkeypatch
        pipeline_arn = f"arn:aws:codepipeline:us-east-1:123456789012:{names.pipeline}"
        settings = {
            "TABLE_NAME": self.table,
            "TABLE_INDEX": names.deployments_index,
            "PIPELINE_NAME": names.pipeline,
            "PIPELINE_ARN": pipeline_arn,
            "TOPIC_ARN": self.topic,
            "ENVIRONMENT": env,
            "METRICS_NAMESPACE": naming.METRICS_NAMESPACE,
            "RECORD_TTL_DAYS": "400",
            "ARTIFACT_EXPIRATION_DAYS": str(self.artifact_days),
            "ROLLBACK_ALARMS": json.dumps({self.health[t]: s for t, s in naming.DEPLOY_STAGES.items()}),
            "ALARM_TARGETS": json.dumps({alarm: target for target, alarm in self.health.items()}),
        }
        for name, value in settings.items():
            mp.setenv(name, value)
        self.recorder = importlib.import_module("functions.deployment_recorder.handler")
        self.recorder.cold_start()
        self.recorder.recorder().codepipeline = self.sim.client
        self.rollback = importlib.import_module("functions.rollback.handler")
        self.rollback.cold_start()
        self.rollback.aws().codepipeline = self.sim.client
        mp.setattr(self.rollback, "sleep", lambda seconds: None)
        mp.setattr(self.rollback, "now", lambda: self.sim.now)
        self.incidents = importlib.import_module("functions.incident_recorder.handler")
        self.incidents.config.cache_clear()
        self.incidents.store.cache_clear()
        self._execution_age(mp)
        if self.freezes:
            self._freeze_gate(mp)

    def _freeze_gate(self, mp) -> None:
        from functions.shared.contract import calendar
        from functions.shared.contract.stages import freeze_stage

        self.calendar = CalendarSSM(lambda: self.sim.now, others=boto3.client("ssm"))
        self.calendar.create_document(
            Name=self.names.freeze_calendar,
            Content=calendar.empty(),
            DocumentType="ChangeCalendar",
            DocumentFormat="TEXT",
        )
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        self.deployments_topic = sns.create_topic(Name=self.names.topic("deployments"))["TopicArn"]
        self.news_queue = sqs.create_queue(QueueName=f"{self.env}-news")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.news_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.deployments_topic, Protocol="sqs", Endpoint=arn)
        self._news: list[dict] = []
        window = any(s["name"] == naming.WINDOW_STAGE for s in self.pipeline["stage"])
        for name, value in {
            "CALENDAR_NAME": self.names.freeze_calendar,
            "FREEZE_STAGE": freeze_stage(window=window),
            "DEPLOYMENTS_TOPIC_ARN": self.deployments_topic,
        }.items():
            mp.setenv(name, value)
        self.gate = importlib.import_module("functions.freeze_gate.handler")
        self.gate.cold_start()
        clients = {
            "ssm": self.calendar,
            "codepipeline": self.sim.client,
            "dynamodb": boto3.client("dynamodb"),
            "sns": sns,
        }
        mp.setattr(self.gate, "clients", lambda: clients)
        self.gate_moves: list[tuple[dt.datetime, dict]] = []

    def _execution_age(self, mp) -> None:
        """The execution-age function, run every 5 minutes by `run`, with the
        window the pipeline itself declares."""
        window = next(
            (
                rule["configuration"]
                for stage in self.pipeline["stage"]
                for rule in ((stage.get("before_entry") or {}).get("condition") or {}).get("rule", [])
                if rule["rule_type_id"]["provider"] == "DeploymentWindow"
            ),
            None,
        )
        if window:
            mp.setenv("WINDOW_CRON", window["Cron"])
            mp.setenv("WINDOW_TIME_ZONE", window["TimeZone"])
        else:
            mp.delenv("WINDOW_CRON", raising=False)
            mp.delenv("WINDOW_TIME_ZONE", raising=False)
        mp.setenv("BAKE_MINUTES", "10")
        self.age = importlib.import_module("functions.execution_age.handler")
        self.age.config.cache_clear()
        self.age.rules.cache_clear()
        mp.setattr(self.age, "_pipeline", self.age.Pipeline(self.names.pipeline, session=self.sim.session()))
        mp.setattr(self.age, "_cloudwatch", None)
        self.ages: list[tuple[dt.datetime, int]] = []

    def route(self, event: dict) -> None:
        """As the monitoring stack's EventBridge rules route them."""
        kind = event.get("detail-type")
        if kind in PIPELINE_EVENTS:
            self.delivered.append(("recorder", self.recorder.handler(event, Context(event["id"]))))
        elif kind == ALARM_EVENT and event["detail"]["alarmName"] in self.health.values():
            state = event["detail"]["state"]["value"]
            self.delivered.append(("incidents", self.incidents.handler(event, Context(event["id"]))))
            if state == "ALARM":
                self.delivered.append(("rollback", self.rollback.handler(event, Context(event["id"]))))

    # --- scripting -------------------------------------------------------------------------
    def at(self, *args) -> dt.datetime:
        return dt.datetime(*args, tzinfo=UTC)

    def incident(self, target: str, start: dt.datetime, end: dt.datetime | None = None) -> None:
        alarm = self.world.alarm(self.health[target])
        alarm.set("ALARM", start)
        if end:
            alarm.set("OK", end)

    def push(self, commit: str, at: dt.datetime) -> None:
        self.world.push(commit, at)

    def run(self, until: dt.datetime) -> None:
        """Advance to `until`, running the execution-age function every 5
        minutes as its schedule does (`ages`: what it published, when), and
        the freeze gate every minute (`gate_moves`: what it moved, when)."""
        if self.freezes:
            while self.sim.now < until:
                self.sim.advance(to=min(until, self.sim.now + dt.timedelta(minutes=1)))
                moved = self.gate.handler({}, Context("gate"), now=self.sim.now)
                if moved["result"] != "STAY":
                    self.gate_moves.append((self.sim.now, moved))
            return
        if not self.ages_every_5_minutes:
            self.sim.advance(to=until)
            return
        while self.sim.now < until:
            self.sim.advance(to=min(until, self.sim.now + dt.timedelta(minutes=5)))
            published = self.age.handler({}, Context("age"), now=self.sim.now)["ExecutionAge"]
            self.ages.append((self.sim.now, published))

    def max_age(self, start: dt.datetime, end: dt.datetime) -> int:
        """The highest ExecutionAge published in [start, end)."""
        assert self.ages_every_5_minutes, "ask for ages_every_5_minutes=True"
        return max((age for moment, age in self.ages if start <= moment < end), default=0)

    # --- what happened ---------------------------------------------------------------
    def running(self, target: str, at: dt.datetime) -> str | None:
        """The commit running on `target` at `at`."""
        return self.sim.timeline.running_on(naming.DEPLOY_STAGES[target], at)

    def deployed(self, commit: str, target: str) -> dt.datetime | None:
        return self.sim.timeline.deployed_at(commit, naming.DEPLOY_STAGES[target])

    def records(self) -> list[dict]:
        return all_items(self.table)

    def execution_record(self, commit: str) -> dict:
        """The ledger's record of the (first) standard execution of `commit`."""
        execution = next(e for e in self.sim.executions if e.revision == commit and e.type == "STANDARD")
        (found,) = [r for r in self.records() if r[records.KEY] == execution.id]
        return found

    def metric(self, name: str) -> float:
        stats = boto3.client("cloudwatch").get_metric_statistics(
            Namespace=naming.METRICS_NAMESPACE,
            MetricName=name,
            Dimensions=[{"Name": "Environment", "Value": self.env}],
            StartTime=dt.datetime(2000, 1, 1),
            EndTime=dt.datetime(2101, 1, 1),
            Period=86400 * 365 * 100,
            Statistics=["Sum"],
        )
        return sum(p["Sum"] for p in stats["Datapoints"])

    def pages(self) -> list[dict]:
        return _drain(self.queue, self._pages)

    def ops(self, *argv: str) -> tuple[int, str]:
        """`python -m ops ARGV` against this world: CodePipeline is the
        model, the rest moto. Returns the exit code and stdout + stderr."""
        import contextlib
        import io

        from ops import cli, common

        world = self

        from ops.commands import freeze

        class Session:
            def client(self, service, **kwargs):
                if service == "codepipeline":
                    return world.sim.client
                if service == "ssm" and world.freezes:
                    return world.calendar
                return boto3.client(service, region_name="us-east-1")

        self.monkeypatch.setattr(common, "session", lambda region, profile: Session())
        self.monkeypatch.setattr(freeze, "now", lambda: world.sim.now)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(list(argv))
        return code, out.getvalue()

    def news(self) -> list[dict]:
        """What the deployments topic said (freezes held, released, lifted)."""
        return _drain(self.news_queue, self._news)

    def dora(self, start: dt.datetime, end: dt.datetime) -> dict[str, dora.Metric]:
        return {m.name: m for m in dora.measure(self.records(), start, end)}


def _drain(queue: str, into: list[dict]) -> list[dict]:
    """Every message on the SQS `queue` (an SNS topic's subscription) so far, kept in `into`."""
    sqs = boto3.client("sqs")
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            into.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return list(into)


# Mon-Thu 09:00-16:59: no Friday releases.
WEEKDAYS_9_TO_5 = "* * 9-16 ? * MON-THU *"


def scenario_configurations():
    """Three pipelines: production with an approval and a UTC window; staging
    (named so only for unique stack names) with an approval and a Berlin
    window across daylight saving; test with neither."""
    production = dataclasses.replace(
        load("production"),
        approval_required=True,
        change_window=ChangeWindow(enabled=True, cron=WEEKDAYS_9_TO_5, time_zone="UTC"),
        health_check_duration_minutes=10,
    )
    staging = dataclasses.replace(
        load("staging"),
        approval_required=True,
        change_window=ChangeWindow(enabled=True, cron="* * 9-16 ? * MON-FRI *", time_zone="Europe/Berlin"),
        health_check_duration_minutes=10,
    )
    test = dataclasses.replace(
        load("test"),
        approval_required=False,
        change_window=ChangeWindow(enabled=False),
        health_check_duration_minutes=10,
    )
    return [production, staging, test]


def synthesize_pipelines(out) -> dict[str, dict]:
    """The three scenario pipelines, synthesized into `out`, by environment."""
    from modules.app import build_app

    build_app(scenario_configurations(), outdir=str(out)).synth()
    found = {}
    for env in ("production", "staging", "test"):
        stack = json.loads((out / "stacks" / f"pipeline-{env}" / "cdk.tf.json").read_text())
        found[env] = stack["resource"]["aws_codepipeline"]["pipeline"]
    return found


def _deploy_rows(stage: str):
    from topology import projects

    return [row for row in projects.in_stage(stage) if row.kind == projects.Kind.DEPLOY]
