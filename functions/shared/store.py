"""The deployment-record table, as every writer and reader uses it.

Five operations, written once: `claim` (create a record only if it is new;
`release` undoes it), `update` (set attributes), `apply` (a conditional
update that the recorder's logic planned), `recent` (an environment's
records, newest first, page by page) and `publish_metrics` (claim, mark,
publish and mark a record's outcome metrics at most once per final state).
The functions and `ops` use it, so the table is read and written with one
serialization: numbers stay numbers, string sets stay sets.

It needs boto3 only for its type (de)serializers and takes ready clients, so
it works inside the Lambda zips and from `ops`, against moto or a Stubber.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from . import errors, records
from .contract import metrics as published

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize
CONDITION_FAILED = "ConditionalCheckFailedException"


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values. Numbers stay numbers: int where whole,
    float otherwise (never strings, never Decimal)."""
    return {k: _numbers(_deserialize(v)) for k, v in item.items()}


def _numbers(value: Any) -> Any:
    """Decimals as int or float, inside maps and lists too."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _decimals(value: Any) -> Any:
    """Floats as Decimal, inside maps and lists too (boto3 refuses floats);
    NaN and infinity have no DynamoDB Number and are refused by name."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} cannot be stored as a DynamoDB Number")
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    return value


def _typed(value: Any) -> dict:
    return _serialize(_decimals(value))


def _set(values: dict[str, Any]) -> dict[str, Any]:
    """An UpdateItem's `SET` of each of `values`, with its placeholders, in a stable order."""
    ordered = sorted(values)
    return {
        "UpdateExpression": "SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(ordered))),
        "ExpressionAttributeNames": {f"#k{i}": name for i, name in enumerate(ordered)},
        "ExpressionAttributeValues": {f":v{i}": _typed(values[name]) for i, name in enumerate(ordered)},
    }


def _unless_condition_fails(write: Callable[..., dict], **request: Any) -> dict | None:
    """A conditional write's answer (at least {}), or None when its condition
    did not hold (any other error is raised)."""
    try:
        return write(**request) or {}
    except ClientError as error:
        if errors.code(error) != CONDITION_FAILED:
            raise
    return None


class Store:
    def __init__(self, dynamodb, table: str, index: str | None = None):
        # `index` (EnvironmentStatusIndex) is needed only by `recent`.
        self.dynamodb, self.table, self.index = dynamodb, table, index

    def get(self, key: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(TableName=self.table, Key=records.key(key), ConsistentRead=True).get("Item")
        return plain(found) if found else None

    def claim(self, key: str, item: dict[str, Any], *, read_existing: bool = True) -> dict[str, Any] | None:
        """Create the record `key`: None when this call created it, else the
        record that already exists (read consistently). A lost acknowledgement
        (the write applied, the SDK resent it) therefore returns our own
        claim, which the caller resumes instead of dropping. A caller whose
        role may not read (`read_existing=False`) gets {} for an existing one."""
        created = _unless_condition_fails(
            self.dynamodb.put_item,
            TableName=self.table,
            Item={k: _typed(v) for k, v in {**item, records.KEY: key}.items()},
            ConditionExpression=f"attribute_not_exists({records.KEY})",
        )
        if created is not None:
            return None
        return (self.get(key) or {}) if read_existing else {}

    def release(self, key: str) -> None:
        """Delete the record `key`: undo a claim whose work failed, so a retry
        can claim it again."""
        self.dynamodb.delete_item(TableName=self.table, Key=records.key(key))

    def update(self, key: str, **values: Any) -> None:
        """Set `values` on the record `key`, unconditionally (nothing to set: no call)."""
        if not values:
            return
        self.dynamodb.update_item(TableName=self.table, Key=records.key(key), **_set(values))

    def settle(self, key: str, from_status: str, token: str, **values: Any) -> bool:
        """Move the record `key` out of `from_status`, setting `values`, once:
        True for the one caller whose write did it (`token` is kept as
        `settledBy`, so a retried write whose first answer was lost still
        knows it was its own), False for everyone else."""
        request = _set({**values, "settledBy": token})
        request["ExpressionAttributeNames"]["#status"] = "status"
        request["ExpressionAttributeValues"][":from"] = {"S": from_status}
        settled = _unless_condition_fails(
            self.dynamodb.update_item,
            TableName=self.table,
            Key=records.key(key),
            ConditionExpression="#status = :from",
            **request,
        )
        return settled is not None or (self.get(key) or {}).get("settledBy") == token

    def apply(self, update: records.Update) -> dict[str, Any] | None:
        """The record after `update`, or None when its condition did not hold
        (a duplicate or an older event: nothing to do)."""
        request = dict(
            TableName=self.table,
            Key=records.key(update.deployment_id),
            ReturnValues="ALL_NEW",
            **_expression(update),
        )
        if update.condition:
            request["ConditionExpression"] = update.condition
        response = _unless_condition_fails(self.dynamodb.update_item, **request)
        return None if response is None else plain(response["Attributes"])

    def recent(
        self,
        environment: str,
        *,
        since: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
        fetch: Callable[[dict], dict] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The runbook's query, every page: the environment's records, newest
        first (optionally from `since`, a TIME_FORMAT time, and of one
        `status`). A generator: the caller stops reading once it has its
        answer. `fetch(request)` reads one page (default: one Query call), so
        a caller can wrap it in its own retry."""
        if not self.index:
            raise ValueError("this store was made without the table's index; recent() needs it")
        condition = f"{records.INDEX_PARTITION} = :env"
        values = {":env": {"S": environment}}
        if since:
            condition += f" AND {records.INDEX_SORT} >= :since"
            values[":since"] = {"S": since}
        request: dict[str, Any] = dict(
            TableName=self.table, IndexName=self.index, KeyConditionExpression=condition, ScanIndexForward=False
        )
        if status:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = {"S": status}
        request["ExpressionAttributeValues"] = values
        if page_size:
            request["Limit"] = page_size
        fetch = fetch or (lambda page_request: self.dynamodb.query(**page_request))
        while True:
            response = fetch(dict(request))
            for item in response.get("Items", []):
                yield plain(item)
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def publish_metrics(
        self, cloudwatch, deployment_id: str, metrics: records.Metrics, *, token: str, namespace: str, environment: str
    ) -> bool:
        """Publish a record's outcome metrics at most once: claim, mark "sending", publish, mark "published".
        True when this call published; False when another delivery holds the claim, the record moved on, or
        an earlier attempt of this event was already sending.

        CloudWatch's PutMetricData has no idempotency: every call stores its data points, and the alarms and
        graphs read counts as their Sum ("Sum: All values submitted for the matching metric added together",
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html), so a
        repeated call counts an outcome twice. Hence:

        1. The claim is keyed by `token` (the event's ID, which every retry of the event keeps): only that
           event's deliveries may go on, and only while the record is still at that final state; a lost claim
           answer (the SDK resends, the condition still holds for the same token) goes on too.
        2. The sending mark (`metricsSending`, with a nonce of this call in `metricsSendingBy`) is written,
           conditional on the claim, before PutMetricData. A retry that finds it never publishes: it settles the
           record (`metricsPublished`) and returns False. A lost answer of the mark itself is recognised by the
           nonce.
        3. PutMetricData, once. A definite refusal (a ClientError that is not a timeout, such as Throttling)
           removes the sending mark (and the published mark a concurrent duplicate set on finding it) and
           raises, so the event's retry publishes. An answer that never came (a read or connect timeout, a
           dropped connection, a RequestTimeout or HTTP 408/504 error) keeps the mark and raises: the data may
           be stored, so it is never sent again.
        4. The published mark (`metricsPublished`).

        So DeploymentSuccess, DeploymentFailure, BuildFailure, ReleaseRejected, ApprovalTimedOut,
        ReleaseBlockedByGate, ExecutionCanceledByUpdate, RollbackCount and DeploymentDuration are published at
        most once per final state: a call that failed after step 2 without a definite refusal loses them rather
        than counting twice. The SDK's own retries are outside this protocol: "Legacy mode is the default mode
        used by any Boto3 client you create", and it retries "ReadTimeoutError" among its "General
        socket/connection errors" (https://docs.aws.amazon.com/boto3/latest/guide/retries.html), so a client
        with default retries can resend a timed-out PutMetricData that was stored. For strict at-most-once,
        the caller's CloudWatch client makes a single attempt (botocore `Config(retries={"total_max_attempts": 1})`).
        """
        if not self._claim_metrics(deployment_id, metrics, token):
            return False
        nonce = uuid.uuid4().hex
        sending = self._mark_sending(deployment_id, metrics, token, nonce)
        if sending == _EARLIER:
            # An earlier attempt of this event may have published: never
            # again, and nothing more is owed for this final state.
            self._mark_published(deployment_id, metrics, token)
            return False
        if sending != _OURS:
            # The record moved on since the claim: these metrics are stale.
            return False
        data = metric_data(metrics, environment)
        if data:
            try:
                # One call, so a publication happens whole or not at all.
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
            except ClientError as error:
                if not _may_have_been_stored(error):
                    self._unmark_sending(deployment_id, metrics, nonce)
                raise
        self._mark_published(deployment_id, metrics, token)
        return True

    def _claim_metrics(self, deployment_id: str, metrics: records.Metrics, token: str) -> bool:
        """Only while the record is still at that final state, and only if
        nobody claimed it, or we did and it is not yet published."""
        return self._update_at_state(
            deployment_id,
            metrics,
            "SET metricsFor = :k, metricsToken = :t",
            "(attribute_not_exists(metricsFor) OR metricsFor <> :k OR (metricsToken = :t AND "
            "(attribute_not_exists(metricsPublished) OR metricsPublished <> :k)))",
            {":t": token},
        )

    def _mark_sending(self, deployment_id: str, metrics: records.Metrics, token: str, nonce: str) -> str:
        """Say, before PutMetricData, that this call is sending `metrics`:
        only while the record is at that state, our claim holds and no
        earlier attempt said so. _OURS for this call's own mark (also when
        the SDK resent it after a lost answer), _EARLIER when an earlier
        attempt had marked it, _STALE when the record or the claim moved on."""
        if self._update_at_state(
            deployment_id,
            metrics,
            "SET metricsSending = :k, metricsSendingBy = :n",
            "metricsFor = :k AND metricsToken = :t AND (attribute_not_exists(metricsSending) OR metricsSending <> :k)",
            {":t": token, ":n": nonce},
        ):
            return _OURS
        current = self.get(deployment_id) or {}
        if current.get(records.METRICS_SENDING) != metrics.key:
            return _STALE
        if current.get(records.METRICS_SENDING_BY) == nonce:
            return _OURS
        return _EARLIER if current.get(records.METRICS_TOKEN) == token else _STALE

    def _update_at_state(
        self, deployment_id: str, metrics: records.Metrics, expression: str, condition: str, values: dict[str, str]
    ) -> bool:
        """A metrics mark that holds only while the record is still at the
        final state `metrics.key` names (`status@updatedAt`) and `condition`
        holds (`:k` is that key)."""
        status, updated_at = metrics.key.split("@", 1)
        return self._update_if(
            deployment_id,
            expression,
            f"#s = :s AND updatedAt = :u AND {condition}",
            {**values, ":k": metrics.key, ":s": status, ":u": updated_at},
            names={"#s": "status"},
        )

    def _update_if(
        self, deployment_id: str, expression: str, condition: str, values: dict[str, str], names: dict | None = None
    ) -> bool:
        """A metrics mark: UpdateItem of the record under `condition`
        (`values`: its string placeholders). False when the condition did not hold."""
        request: dict[str, Any] = dict(
            TableName=self.table,
            Key=records.key(deployment_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeValues={name: {"S": value} for name, value in values.items()},
        )
        if names:
            request["ExpressionAttributeNames"] = names
        return _unless_condition_fails(self.dynamodb.update_item, **request) is not None

    def _unmark_sending(self, deployment_id: str, metrics: records.Metrics, nonce: str) -> None:
        """Undo this call's sending mark after a definite refusal, so the
        event's retry publishes. A concurrent duplicate of the event (same
        token) that found the mark meanwhile has set `metricsPublished`;
        while the mark is ours nobody else sent these metrics, so that goes
        first. Best effort: if it fails, the marks stay and the metrics are
        lost, never doubled; the refusal is what is raised."""
        removals = (
            ("REMOVE metricsPublished", "metricsSendingBy = :n AND metricsPublished = :k"),
            ("REMOVE metricsSending, metricsSendingBy", "metricsSendingBy = :n AND metricsSending = :k"),
        )
        for expression, condition in removals:
            try:
                self._update_if(deployment_id, expression, condition, {":n": nonce, ":k": metrics.key})
            except (ClientError, BotoCoreError):
                return

    def _mark_published(self, deployment_id: str, metrics: records.Metrics, token: str) -> None:
        """Nothing more is owed for `metrics.key`: it was published, or an
        earlier attempt may have published it. A record that moved on to a
        newer claim keeps it (its condition fails, and that is no error)."""
        self._update_if(
            deployment_id,
            "SET metricsPublished = :k",
            "metricsFor = :k AND metricsToken = :t",
            {":k": metrics.key, ":t": token},
        )


# What `_mark_sending` found.
_OURS, _EARLIER, _STALE = "ours", "earlier", "stale"
# PutMetricData errors whose request CloudWatch may have stored all the same:
# the server gave up waiting (RequestTimeout), or a gateway did (408, 504).
# Connection and read timeouts raise BotoCoreError, not ClientError, and are
# never treated as a refusal either.
_UNCERTAIN_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
_UNCERTAIN_STATUSES = frozenset({408, 504})


def _may_have_been_stored(error: ClientError) -> bool:
    code = errors.code(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _UNCERTAIN_CODES or status in _UNCERTAIN_STATUSES


def metric_data(metrics: records.Metrics, environment: str) -> list[dict[str, Any]]:
    """The PutMetricData entries of one outcome: its counts, and its duration."""
    data = [published.BY_NAME[name].datum(value, environment) for name, value in sorted(metrics.counts.items())]
    if metrics.duration is not None:
        data.append(published.DEPLOYMENT_DURATION.datum(metrics.duration, environment))
    return data


def _expression(update: records.Update) -> dict[str, Any]:
    """The UpdateExpression with its names and values, in a stable order."""
    names, values, assignments = {}, {}, []
    for index, (attribute, value) in enumerate(sorted(update.set_values.items())):
        names[f"#s{index}"] = attribute
        values[f":s{index}"] = _typed(value)
        assignments.append(f"#s{index} = :s{index}")
    for index, (attribute, value) in enumerate(sorted(update.set_if_absent.items())):
        names[f"#a{index}"] = attribute
        values[f":a{index}"] = _typed(value)
        assignments.append(f"#a{index} = if_not_exists(#a{index}, :a{index})")
    expression = "SET " + ", ".join(assignments)
    if update.add_to_sets:
        additions = []
        for index, (attribute, members) in enumerate(sorted(update.add_to_sets.items())):
            names[f"#d{index}"] = attribute
            values[f":d{index}"] = {"SS": sorted(set(members))}
            additions.append(f"#d{index} :d{index}")
        expression += " ADD " + ", ".join(additions)
    if update.remove:
        removals = []
        for index, attribute in enumerate(update.remove):
            names[f"#r{index}"] = attribute
            removals.append(f"#r{index}")
        expression += " REMOVE " + ", ".join(removals)
    values.update({k: _typed(v) for k, v in update.condition_values.items()})
    return {"UpdateExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
