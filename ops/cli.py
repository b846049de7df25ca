"""kiro-pipeline operations: the deployment guide's scripts and the runbook's
tasks as one command.

    python -m ops <command> <env> [options]     (python -m ops --help)

Every command takes --region, --profile and --json, prints one clear line
for missing credentials, denied access or missing resources (no tracebacks),
and exits 0 on success, 1 when a check or operation failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from environments import ENVIRONMENT_NAMES, ConfigError, EnvironmentConfig, UnknownEnvironmentError, load
from environments.config import is_region
from ops.aws import AWS_ERRORS, EXIT_FAILED, EXIT_USAGE, OpsError, explain, session
from ops.validate import Validator
from topology import naming

FINAL_EXECUTION_STATES = {"Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"}
_SLACK_WEBHOOK = re.compile(r"^https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Context:
    """What every command gets: the environment's config, names and clients."""

    def __init__(self, config: EnvironmentConfig, region: str, profile: str | None, as_json: bool):
        self.config, self.names = config, config.names
        self.region, self.as_json = region, as_json
        self.session = session(region, profile)

    def client(self, service: str):
        return self.session.client(service, region_name=self.region)

    def arn(self, service: str, resource: str) -> str:
        return naming.arn(self.config.partition, service, self.region, self.config.account_id, resource)

    def emit(self, data: Any, lines: list[str]) -> None:
        print(json.dumps(data, indent=2, default=str) if self.as_json else "\n".join(lines))


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(moment or "")


# --- bootstrap ------------------------------------------------------------
def cmd_bootstrap(ctx: Context, args) -> int:
    from ops.bootstrap import Bootstrapper, report

    steps = Bootstrapper(ctx.config, ctx.session).run()
    ctx.emit([step.__dict__ for step in steps], [report(ctx.config, steps)])
    return 0


# --- deployer roles -------------------------------------------------------
def cmd_deployer_roles(ctx: Context, args) -> int:
    from ops.deployers import DeployerRoles, report

    steps = DeployerRoles(ctx.config, ctx.session).run()
    ctx.emit([step.__dict__ for step in steps], [report(ctx.config, steps)])
    return 0


# --- preflight ------------------------------------------------------------
def cmd_preflight(ctx: Context, args) -> int:
    from ops.preflight import Preflight

    checks = Preflight(ctx.config, ctx.session).run()
    failed = [c for c in checks if c.status == "fail"]
    lines = [f"Preflight for {ctx.config.name} (region {ctx.region}):", *[c.line() for c in checks]]
    lines.append("Ready to deploy." if not failed else f"{len(failed)} check(s) failed: fix them before deploying.")
    ctx.emit({"environment": ctx.config.name, "checks": [c.__dict__ for c in checks], "ready": not failed}, lines)
    return EXIT_FAILED if failed else 0


# --- validate -------------------------------------------------------------
def cmd_validate(ctx: Context, args) -> int:
    # One line for missing or expired credentials, not one failed check each.
    ctx.client("sts").get_caller_identity()
    results = Validator(ctx.config, ctx.session).run()
    failed = [r for r in results if not r.ok]
    lines = [f"Validating kiro-pipeline deployment for environment: {ctx.config.name}"]
    lines += [r.line() for r in results]
    lines.append("All validation checks passed!" if not failed else f"{len(failed)} of {len(results)} checks failed.")
    ctx.emit({"environment": ctx.config.name, "checks": [r.__dict__ for r in results], "passed": not failed}, lines)
    return 0 if not failed else EXIT_FAILED


# --- secrets and parameters --------------------------------------------------
def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_setup_secrets(ctx: Context, args) -> int:
    name = ctx.names.resource_secret("slack-webhook")
    value = _read_secret("Slack webhook URL (not echoed): ")
    if not _SLACK_WEBHOOK.match(value):
        raise OpsError(
            "the value is not a Slack webhook URL (https://hooks.slack.com/services/...); nothing stored", EXIT_USAGE
        )
    secrets = ctx.client("secretsmanager")
    try:
        secrets.put_secret_value(SecretId=name, SecretString=value)
        action = "updated"
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        secrets.create_secret(
            Name=name,
            Description=f"Slack webhook for kiro-pipeline {ctx.config.name} notifications",
            KmsKeyId=ctx.names.kms_alias,
            SecretString=value,
        )
        action = "created"
    ctx.emit(
        {"secret": name, "action": action},
        [
            f"✓ secret {name} {action} (value not shown); {ctx.names.lambda_function('slack-notifier')} "
            "reads it at its next message"
        ],
    )
    return 0


def _parameter_names(ctx: Context) -> dict[str, str]:
    prefix = f"/{naming.PROJECT}/{ctx.config.name}"
    return {key: f"{prefix}/{key}" for key in ("github-owner", "github-repo", "notification-email")}


def cmd_setup_parameters(ctx: Context, args) -> int:
    ssm, names = ctx.client("ssm"), _parameter_names(ctx)
    if args.show:
        path = f"/{naming.PROJECT}/{ctx.config.name}"
        found = {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path=path)["Parameters"]}
        ctx.emit(found, [f"{name} = {found.get(name, '(not set)')}" for name in names.values()])
        return 0
    values = {
        "github-owner": args.github_owner or ctx.config.github.owner,
        "github-repo": args.github_repo or ctx.config.github.repo,
        "notification-email": args.notification_email or ctx.config.notification_email,
    }
    problems = [
        f"{k}: {v!r} is not valid"
        for k, v in values.items()
        if not (_EMAIL if k == "notification-email" else _GITHUB_NAME).match(v)
    ]
    if problems:
        raise OpsError("; ".join(problems) + "; nothing written", EXIT_USAGE)
    configured = {
        "github-owner": ctx.config.github.owner,
        "github-repo": ctx.config.github.repo,
        "notification-email": ctx.config.notification_email,
    }
    for key, value in values.items():
        ssm.put_parameter(Name=names[key], Value=value, Type="String", Overwrite=True)
    # An export for other tools: the pipeline reads environments/{env}.py,
    # never these parameters, so a value that differs changes nothing.
    lines = [f"exported {names[k]} = {v}" for k, v in values.items()]
    lines += [
        f"! {names[k]} = {v!r} differs from the configuration ({configured[k]!r}); the pipeline uses the "
        f"configuration: change environments/{ctx.config.name}.py and redeploy to change it"
        for k, v in values.items()
        if v != configured[k]
    ]
    ctx.emit({names[k]: v for k, v in values.items()}, lines)
    return 0


# --- notifications -----------------------------------------------------------
def cmd_subscribe(ctx: Context, args) -> int:
    if not _EMAIL.match(args.email):
        raise OpsError(f"{args.email!r} is not an email address", EXIT_USAGE)
    sns, report = ctx.client("sns"), {}
    for purpose in ("deployments", "approvals", "rollbacks"):
        topic = ctx.arn("sns", ctx.names.topic(purpose))
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=args.email)
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        mine = [s for s in subscriptions if s["Endpoint"] == args.email and s["Protocol"] == "email"]
        confirmed = any(s["SubscriptionArn"].startswith("arn:") for s in mine)
        report[ctx.names.topic(purpose)] = "confirmed" if confirmed else "pending confirmation"
    lines = [f"{'✓' if state == 'confirmed' else '…'} {topic}: {state}" for topic, state in report.items()]
    if "pending confirmation" in report.values():
        lines.append(f"Confirm each subscription from the email AWS sent to {args.email}.")
    ctx.emit(report, lines)
    return 0


# --- deployments ---------------------------------------------------------------
def query_deployments(ctx: Context, limit: int, status: str | None = None, since: str | None = None) -> list[dict]:
    key = "environment = :env" + (" AND startTime >= :since" if since else "")
    values = {":env": {"S": ctx.config.name}}
    if since:
        values[":since"] = {"S": since}
    kwargs = dict(
        TableName=ctx.names.deployments_table,
        IndexName=ctx.names.deployments_index,
        KeyConditionExpression=key,
        ScanIndexForward=False,
    )
    if status:
        kwargs["FilterExpression"] = "#s = :status"
        kwargs["ExpressionAttributeNames"] = {"#s": "status"}
        values[":status"] = {"S": status}
    kwargs["ExpressionAttributeValues"] = values
    items, paginator = [], ctx.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(**kwargs):
        items += [{k: list(v.values())[0] for k, v in item.items()} for item in page["Items"]]
        if len(items) >= limit:
            break
    return items[:limit]


def _deployment_lines(items: list[dict]) -> list[str]:
    if not items:
        return ["(no deployment records)"]
    lines = [f"{'deploymentId':40} {'status':28} {'startTime':21} {'stage':14} commit"]
    for item in items:
        lines.append(
            f"{item.get('deploymentId', ''):40} {item.get('status', ''):28} {item.get('startTime', ''):21} "
            f"{item.get('stage', ''):14} {item.get('commitId', '')[:12]}"
        )
    return lines


def cmd_deployments(ctx: Context, args) -> int:
    items = query_deployments(ctx, args.limit, args.status)
    ctx.emit(items, _deployment_lines(items))
    return 0


# --- health --------------------------------------------------------------------
def pipeline_state(ctx: Context) -> dict:
    try:
        return ctx.client("codepipeline").get_pipeline_state(name=ctx.names.pipeline)
    except ClientError as error:
        if _code(error) == "PipelineNotFoundException":
            raise OpsError(f"pipeline {ctx.names.pipeline} not found: deploy pipeline-{ctx.config.name}") from error
        raise


def cmd_health(ctx: Context, args) -> int:
    stages = [
        {
            "stage": s["stageName"],
            "status": s.get("latestExecution", {}).get("status", "-"),
            "type": s.get("latestExecution", {}).get("type", ""),
        }
        for s in pipeline_state(ctx).get("stageStates", [])
    ]
    alarms = [
        {"alarm": a["AlarmName"], "reason": a.get("StateReason", "")}
        for page in ctx.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=ctx.names.pipeline + "-", StateValue="ALARM")
        for a in page["MetricAlarms"]
    ]
    recent = query_deployments(ctx, 5)
    lines = [f"Pipeline health for {ctx.config.name} ({ctx.names.pipeline})", "", "Stages:"]
    lines += [f"  {s['stage']:14} {s['status']}{' (rollback)' if s['type'] == 'ROLLBACK' else ''}" for s in stages]
    lines += ["", "Alarms in ALARM:"] + ([f"  ✗ {a['alarm']}: {a['reason']}" for a in alarms] or ["  none"])
    lines += ["", "Recent deployments:"] + ["  " + line for line in _deployment_lines(recent)]
    ctx.emit({"stages": stages, "alarms": alarms, "deployments": recent}, lines)
    return EXIT_FAILED if alarms or any(s["status"] == "Failed" for s in stages) else 0


# --- summary -------------------------------------------------------------------
def cmd_summary(ctx: Context, args) -> int:
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    cloudwatch, metrics = ctx.client("cloudwatch"), {}
    for metric in ("DeploymentSuccess", "DeploymentFailure", "RollbackCount"):
        points = cloudwatch.get_metric_statistics(
            Namespace=naming.METRICS_NAMESPACE,
            MetricName=metric,
            Dimensions=[{"Name": "Environment", "Value": ctx.config.name}],
            StartTime=start,
            EndTime=end,
            Period=86400,
            Statistics=["Sum"],
        )["Datapoints"]
        metrics[metric] = int(sum(p["Sum"] for p in points))
    records = [
        r
        for r in query_deployments(ctx, 10_000, since=_iso(start))
        if not str(r.get("deploymentId", "")).startswith("rollback#")
    ]
    durations = []
    for record in records:
        if record.get("startedAt") and record.get("endTime"):
            begin = datetime.strptime(record["startedAt"], "%Y-%m-%dT%H:%M:%SZ")
            finish = datetime.strptime(record["endTime"], "%Y-%m-%dT%H:%M:%SZ")
            durations.append((finish - begin).total_seconds() / 60)
    finished = metrics["DeploymentSuccess"] + metrics["DeploymentFailure"]
    summary = {
        "environment": ctx.config.name,
        "days": args.days,
        "deployments": len(records),
        "successes": metrics["DeploymentSuccess"],
        "failures": metrics["DeploymentFailure"],
        "rollbacks": metrics["RollbackCount"],
        "success_rate_percent": round(100 * metrics["DeploymentSuccess"] / finished, 1) if finished else None,
        "median_duration_minutes": round(statistics.median(durations), 1) if durations else None,
    }
    lines = [
        f"Deployment summary for {ctx.config.name} (last {args.days} days)",
        f"  deployments recorded: {summary['deployments']}",
        f"  successes:            {summary['successes']}",
        f"  failures:             {summary['failures']}",
        f"  rollbacks:            {summary['rollbacks']}",
        f"  success rate:         {summary['success_rate_percent'] if finished else '-'}%",
        f"  median duration:      {summary['median_duration_minutes'] if durations else '-'} min",
    ]
    ctx.emit(summary, lines)
    return 0


# --- pipeline control ------------------------------------------------------------
def cmd_trigger(ctx: Context, args) -> int:
    codepipeline = ctx.client("codepipeline")
    execution_id = codepipeline.start_pipeline_execution(name=ctx.names.pipeline)["pipelineExecutionId"]
    if not args.as_json:
        print(f"Started {ctx.names.pipeline} execution {execution_id}", flush=True)
    if not args.wait:
        if args.as_json:
            print(json.dumps({"executionId": execution_id}))
        return 0
    try:
        return _follow(ctx, args, codepipeline, execution_id)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: execution {execution_id} keeps running; follow it with "
            f"python -m ops health {ctx.config.name}, or stop it with python -m ops stop {ctx.config.name} "
            f"--execution-id {execution_id} --reason '...'",
            file=sys.stderr,
        )
        return 130


def _follow(ctx: Context, args, codepipeline, execution_id: str) -> int:
    seen: dict[str, str] = {}
    while True:
        status = codepipeline.get_pipeline_execution(pipelineName=ctx.names.pipeline, pipelineExecutionId=execution_id)[
            "pipelineExecution"
        ]["status"]
        for stage in pipeline_state(ctx).get("stageStates", []):
            latest = stage.get("latestExecution", {})
            if latest.get("pipelineExecutionId") == execution_id and seen.get(stage["stageName"]) != latest.get(
                "status"
            ):
                seen[stage["stageName"]] = latest.get("status")
                if not args.as_json:
                    print(f"  {stage['stageName']:14} {latest.get('status')}", flush=True)
        if status in FINAL_EXECUTION_STATES:
            break
        time.sleep(args.poll_seconds)
    if args.as_json:
        print(json.dumps({"executionId": execution_id, "status": status, "stages": seen}))
    else:
        print(f"{'✓' if status == 'Succeeded' else '✗'} execution {execution_id}: {status}")
    return 0 if status == "Succeeded" else EXIT_FAILED


def _pending_approval(ctx: Context) -> str:
    for stage in pipeline_state(ctx).get("stageStates", []):
        if stage["stageName"] != naming.DEPLOY_STAGES["production"]:
            continue
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution", {})
            if (
                action["actionName"] == naming.APPROVAL_ACTION
                and latest.get("status") == "InProgress"
                and latest.get("token")
            ):
                return latest["token"]
    raise OpsError(
        f"no approval is pending for {ctx.names.pipeline} "
        f"({naming.DEPLOY_STAGES['production']}/{naming.APPROVAL_ACTION})"
    )


def _answer_approval(ctx: Context, args, status: str) -> int:
    token = _pending_approval(ctx)
    ctx.client("codepipeline").put_approval_result(
        pipelineName=ctx.names.pipeline,
        stageName=naming.DEPLOY_STAGES["production"],
        actionName=naming.APPROVAL_ACTION,
        result={"status": status, "summary": args.summary},
        token=token,
    )
    ctx.emit(
        {"pipeline": ctx.names.pipeline, "result": status, "summary": args.summary},
        [f"✓ {status.lower()} the production release of {ctx.names.pipeline}: {args.summary}"],
    )
    return 0


def cmd_approve(ctx: Context, args) -> int:
    return _answer_approval(ctx, args, "Approved")


def cmd_reject(ctx: Context, args) -> int:
    return _answer_approval(ctx, args, "Rejected")


def _executions(ctx: Context, max_results: int = 50) -> list[dict]:
    return ctx.client("codepipeline").list_pipeline_executions(pipelineName=ctx.names.pipeline, maxResults=max_results)[
        "pipelineExecutionSummaries"
    ]


def cmd_stop(ctx: Context, args) -> int:
    execution_id = args.execution_id
    if not execution_id:
        running = [e for e in _executions(ctx) if e["status"] in ("InProgress", "Stopping")]
        if not running:
            raise OpsError(f"no execution of {ctx.names.pipeline} is in progress")
        execution_id = running[0]["pipelineExecutionId"]
    ctx.client("codepipeline").stop_pipeline_execution(
        pipelineName=ctx.names.pipeline, pipelineExecutionId=execution_id, abandon=args.abandon, reason=args.reason
    )
    ctx.emit(
        {"executionId": execution_id, "reason": args.reason},
        [f"✓ stopping {ctx.names.pipeline} execution {execution_id}: {args.reason}"],
    )
    return 0


def _records(ctx: Context):
    """This environment's deployment records, newest first, page by page."""
    paginator = ctx.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=ctx.names.deployments_table,
        IndexName=ctx.names.deployments_index,
        KeyConditionExpression="environment = :env",
        ExpressionAttributeValues={":env": {"S": ctx.config.name}},
        ScanIndexForward=False,
    ):
        for item in page["Items"]:
            yield {k: _value(v) for k, v in item.items()}


def _value(attribute: dict) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() else number
    return set(value) if kind in ("SS", "NS") else value


def cmd_rollback(ctx: Context, args) -> int:
    """The rollback function's own choice (rollback.logic): roll back what the
    stage runs now, to the newest older STANDARD execution that passed it."""
    from rollback import logic as choice

    if args.stage not in naming.DEPLOY_STAGES.values():
        raise OpsError(f"--stage must be one of {', '.join(naming.DEPLOY_STAGES.values())}", EXIT_USAGE)
    stage_state = next(
        (s for s in pipeline_state(ctx).get("stageStates", []) if s.get("stageName") == args.stage), None
    )
    now = choice.assess(stage_state)
    latest = ((stage_state or {}).get("latestExecution") or {}).get("pipelineExecutionId")
    if isinstance(now, choice.Skip):
        raise OpsError(f"{args.stage}: {now.reason}; wait for it to finish, or stop it first (python -m ops stop)")
    if isinstance(now, choice.Refuse) and not args.to:
        raise OpsError(f"{args.stage}: {now.reason}; name an older execution with --to to roll back further")
    current = now.execution_id if isinstance(now, choice.Deployed) else latest
    target = args.to
    if not target:
        chosen = choice.choose_target(_records(ctx), args.stage, current)
        if isinstance(chosen, choice.NoTarget):
            raise OpsError(f"{chosen.reason}; give the execution to roll back to with --to")
        target = chosen.target_execution
    rollback_execution = ctx.client("codepipeline").rollback_stage(
        pipelineName=ctx.names.pipeline, stageName=args.stage, targetPipelineExecutionId=target
    )["pipelineExecutionId"]
    done = [
        f"✓ rolling {args.stage} of {ctx.names.pipeline} back from {current} to {target} "
        f"(rollback execution {rollback_execution})"
    ]
    moment = datetime.now(UTC)
    try:
        caller = ctx.client("sts").get_caller_identity()["Arn"]
        # Recorded like an automatic rollback, so the runbook's queries show it.
        ctx.client("dynamodb").put_item(
            TableName=ctx.names.deployments_table,
            Item={
                "deploymentId": {"S": f"{choice.ROLLBACK_PREFIX}manual#{args.stage}#{_iso(moment)}"},
                "environment": {"S": ctx.config.name},
                "startTime": {"S": _iso(moment)},
                "status": {"S": "ROLLBACK_IN_PROGRESS"},
                "stage": {"S": args.stage},
                "pipelineName": {"S": ctx.names.pipeline},
                "targetExecutionId": {"S": target},
                "rolledBackExecutionId": {"S": current or "unknown"},
                "rollbackExecutionId": {"S": rollback_execution},
                "initiatedBy": {"S": caller},
                "expiresAt": {"N": str(choice.expires_at(_iso(moment), ctx.config.deployment_record_ttl_days))},
            },
        )
    except AWS_ERRORS as error:
        # The rollback runs; a second one would only be refused or, worse,
        # roll back further. Say so, and do not fail the command.
        done.append(
            f"! the rollback is running, but its record could not be written ({explain(error, 'recording it')}); "
            "do not start another: follow it with python -m ops health " + ctx.config.name
        )
    ctx.emit({"stage": args.stage, "from": current, "target": target, "rollbackExecutionId": rollback_execution}, done)
    return 0


def _alarm_name(ctx: Context, name: str) -> str:
    """A full alarm name, or a suffix of this environment's (`failures`)."""
    prefix = f"{ctx.names.pipeline}-"
    return name if name.startswith(prefix) else prefix + name


def cmd_alarms(ctx: Context, args) -> int:
    """Runbook Task 6, steps 1-2, with this project's alarm and metric names."""
    cloudwatch = ctx.client("cloudwatch")
    if not args.history:
        alarms = [
            a
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=f"{ctx.names.pipeline}-", AlarmTypes=["MetricAlarm"]
            )
            for a in page["MetricAlarms"]
        ]
        if not alarms:
            raise OpsError(
                f"no alarm named {ctx.names.pipeline}-*: deploy monitoring-{ctx.config.name} "
                f"(make deploy ENV={ctx.config.name} STACK=monitoring)"
            )
        rows = [
            {
                "name": a["AlarmName"],
                "state": a["StateValue"],
                "metric": f"{a['Namespace']} {a['MetricName']}",
                "threshold": f"{a['ComparisonOperator']} {a['Threshold']:g}",
            }
            for a in alarms
        ]
        lines = [f"{r['state']:17} {r['name']:44} {r['metric']:32} {r['threshold']}" for r in rows]
        ctx.emit(rows, lines)
        return 0
    name = _alarm_name(ctx, args.history)
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not found:
        raise OpsError(f"alarm {name} not found: list them with python -m ops alarms {ctx.config.name}")
    alarm = found[0]
    history = cloudwatch.describe_alarm_history(
        AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=20, ScanBy="TimestampDescending"
    )["AlarmHistoryItems"]
    end = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm.get("Dimensions", []),
        StartTime=end - timedelta(days=args.days),
        EndTime=end,
        Period=3600,
        Statistics=["Sum", "Average", "Maximum", "Minimum"],
    )["Datapoints"]
    points = sorted(points, key=lambda p: p["Timestamp"])
    data = {
        "alarm": name,
        "state": alarm["StateValue"],
        "namespace": alarm["Namespace"],
        "metric": alarm["MetricName"],
        "dimensions": alarm.get("Dimensions", []),
        "threshold": alarm["Threshold"],
        "comparison": alarm["ComparisonOperator"],
        "history": [{"time": _iso(h["Timestamp"]), "summary": h["HistorySummary"]} for h in history],
        "hourly": [
            {"time": _iso(p["Timestamp"]), **{k: p[k] for k in ("Sum", "Average", "Maximum", "Minimum")}}
            for p in points
        ],
    }
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in data["dimensions"])
    lines = [
        f"{name}: {alarm['StateValue']} ({alarm['Namespace']} {alarm['MetricName']} {dims}, "
        f"{alarm['Statistic'] if 'Statistic' in alarm else ''} {alarm['ComparisonOperator']} {alarm['Threshold']:g})",
        "",
        "State changes, newest first:",
    ]
    lines += [f"  {h['time']}  {h['summary']}" for h in data["history"]] or ["  (none)"]
    lines += ["", f"Hourly statistics, last {args.days} day(s):"]
    lines += [
        f"  {p['time']}  sum {p['Sum']:g}  avg {p['Average']:g}  max {p['Maximum']:g}  min {p['Minimum']:g}"
        for p in data["hourly"]
    ] or ["  (no data points)"]
    lines += [
        "",
        "To change the threshold: edit the environment's config (deployment_duration_threshold_minutes, "
        "coverage_threshold_percent, polling_interval_minutes), then make deploy ENV="
        f"{ctx.config.name} STACK=monitoring; a put-metric-alarm would be undone by the next deploy.",
    ]
    ctx.emit(data, lines)
    return 0


COMMANDS = {
    "bootstrap": (cmd_bootstrap, "Create ENV's Terraform state bucket and lock table (idempotent)", "bootstrap test"),
    "deployer-roles": (
        cmd_deployer_roles,
        "Create or repair the roles the deploy projects assume, in the "
        "credentials' account (like cdk bootstrap --trust)",
        "deployer-roles production",
    ),
    "preflight": (
        cmd_preflight,
        "Checks before a deploy: Terraform, credentials and account, state backend, "
        "no placeholders, deployer roles, GitHub connection",
        "preflight test",
    ),
    "validate": (cmd_validate, "Post-deployment checklist: one ✓/✗ line per check", "validate test"),
    "setup-secrets": (
        cmd_setup_secrets,
        "Store the Slack webhook in Secrets Manager (read from stdin or a prompt)",
        "setup-secrets test < webhook.txt",
    ),
    "setup-parameters": (
        cmd_setup_parameters,
        "Export the configured values as SSM parameters for other tools "
        "(the pipeline reads its configuration, not these), or --show them",
        "setup-parameters test",
    ),
    "subscribe": (cmd_subscribe, "Subscribe an email address to the three topics", "subscribe test devops@example.com"),
    "health": (cmd_health, "Stage states, alarms in ALARM, the last five deployments", "health production"),
    "summary": (
        cmd_summary,
        "Deployments, successes, failures, rollbacks, success rate, median duration",
        "summary production --days 30",
    ),
    "trigger": (cmd_trigger, "Start an execution; --wait follows it to the end", "trigger test --wait"),
    "approve": (
        cmd_approve,
        "Approve the pending production release",
        "approve production --summary 'Approved by Jane'",
    ),
    "reject": (
        cmd_reject,
        "Reject the pending production release",
        "reject production --summary 'Rejected: flaky e2e'",
    ),
    "stop": (cmd_stop, "Stop a stuck execution", "stop test --reason 'Stuck execution, restarting'"),
    "rollback": (
        cmd_rollback,
        "Roll a stage back to the last success, or --to an execution",
        "rollback production --stage ProductionEnv",
    ),
    "deployments": (cmd_deployments, "Recent deployment records, newest first", "deployments test --status FAILED"),
    "alarms": (
        cmd_alarms,
        "The environment's alarms and states; --history NAME: state changes and metric data",
        "alarms production --history failures",
    ),
}


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, as docs/operations.md promises."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see: {self.prog} --help)\n")


def _bounded(kind, low, high, unit: str):
    """An argparse type: a number of `kind` within [low, high]."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
        if not low <= value <= high:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"must be {low} to {high} {unit}, got {text}")
        return value

    return parse


def _region(text: str) -> str:
    if not is_region(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region name such as us-east-1")
    return text


def parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("environment", help=f"one of {', '.join(ENVIRONMENT_NAMES)}")
    common.add_argument("--region", type=_region, help="AWS region (default: the environment's)")
    common.add_argument("--profile", help="AWS CLI profile (default: the standard credential chain)")
    common.add_argument("--json", dest="as_json", action="store_true", help="machine-readable output")
    root = _Parser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="command")
    for name, (_, help_text, example) in COMMANDS.items():
        sub = commands.add_parser(
            name, parents=[common], help=help_text, description=help_text, epilog=f"example: python -m ops {example}"
        )
        if name == "setup-parameters":
            sub.add_argument("--show", action="store_true", help="print the current values")
            sub.add_argument("--github-owner")
            sub.add_argument("--github-repo")
            sub.add_argument("--notification-email")
        elif name == "subscribe":
            sub.add_argument("email")
        elif name == "summary":
            sub.add_argument("--days", type=_bounded(int, 1, 3650, "days"), default=7)
        elif name == "trigger":
            sub.add_argument("--wait", action="store_true")
            sub.add_argument(
                "--poll-seconds",
                type=_bounded(float, 1.0, 3600.0, "seconds"),
                default=15.0,
                help="seconds between polls while waiting (default 15)",
            )
        elif name in ("approve", "reject"):
            sub.add_argument("--summary", required=True)
        elif name == "stop":
            sub.add_argument("--execution-id")
            sub.add_argument("--reason", required=True)
            sub.add_argument("--abandon", action="store_true", help="stop without waiting for running actions")
        elif name == "rollback":
            sub.add_argument("--stage", required=True)
            sub.add_argument("--to", help="execution ID to roll back to (default: the last success)")
        elif name == "alarms":
            sub.add_argument("--history", metavar="NAME", help="an alarm name, or its suffix (failures, duration...)")
            sub.add_argument(
                "--days",
                type=_bounded(int, 1, 15, "days"),
                default=7,
                help="days of hourly metric statistics (default 7)",
            )
        elif name == "deployments":
            sub.add_argument("--status")
            sub.add_argument("--limit", type=_bounded(int, 1, 1000, "records"), default=10)
    return root


NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "PipelineNotFoundException",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "NoSuchBucket",
    "PipelineExecutionNotFoundException",
    "ParameterNotFound",
}
# Which stack creates what an operation reads, so "not found" says what to deploy.
STACK_OF_OPERATION = {
    **dict.fromkeys(
        (
            "Query",
            "GetItem",
            "PutItem",
            "UpdateItem",
            "Scan",
            "DescribeTable",
            "DescribeTimeToLive",
            "GetBucketEncryption",
            "GetBucketVersioning",
            "GetPublicAccessBlock",
        ),
        "core",
    ),
    **dict.fromkeys(
        (
            "GetPipeline",
            "GetPipelineState",
            "GetPipelineExecution",
            "StartPipelineExecution",
            "StopPipelineExecution",
            "PutApprovalResult",
            "RollbackStage",
            "ListPipelineExecutions",
            "BatchGetProjects",
            "GetConnection",
        ),
        "pipeline",
    ),
    **dict.fromkeys(
        (
            "Publish",
            "Subscribe",
            "GetTopicAttributes",
            "ListSubscriptionsByTopic",
            "GetDashboard",
            "DescribeRule",
            "GetFunctionConfiguration",
            "DescribeAlarms",
            "DescribeAlarmHistory",
        ),
        "monitoring",
    ),
}


def _missing_resource(error: Exception, env: str) -> str | None:
    """A not-found error as one line naming what is missing and the stack that creates it."""
    if not isinstance(error, ClientError) or _code(error) not in NOT_FOUND_CODES:
        return None
    detail = error.response.get("Error", {}).get("Message", "") or _code(error)
    stack = STACK_OF_OPERATION.get(error.operation_name)
    fix = (
        f"deploy {stack}-{env} (make deploy ENV={env} STACK={stack})"
        if stack
        else f"check that every stack of {env} is deployed (make deploy ENV={env})"
    )
    return f"not found while calling {error.operation_name}: {detail.splitlines()[0][:200]}; {fix}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = COMMANDS[args.command][0]
    try:
        config = load(args.environment)
        ctx = Context(config, args.region or config.region, args.profile, args.as_json)
        return handler(ctx, args)
    except (UnknownEnvironmentError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except AWS_ERRORS as error:
        missing = _missing_resource(error, args.environment)
        print(f"error: {missing or explain(error, args.command + ' ' + args.environment)}", file=sys.stderr)
        return EXIT_FAILED
