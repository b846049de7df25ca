"""Ops runs in the ledger: an `ops` command that changed something leaves a
record (`run#{command}#{time}#{token}`) in the environment's deployments
table, so `python -m ops changes` can list it beside releases, applies and
overrides.

    record_run(ctx, "deployer-roles", ["kiro-pipeline-test-production-deployer: trust policy"])

Called by the reconcilers (bootstrap, deployer-roles, ci-roles; through
ops/reconcile.apply) and by setup-parameters and setup-secrets, only when
something changed; `ops freeze` calls it too. The record is written with a
conditional put that never overwrites (Store.claim: attribute_not_exists on
the key). A failure to record never undoes the command's work and never
changes its exit code: one warning on stderr names the call and the table.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

from functions.shared import records
from ops.aws import AWS_ERRORS, OpsError, explain
from ops.common import Context, code, iso

# The deployments table is core's: a first `bootstrap` runs before it exists.
_NO_TABLE = "ResourceNotFoundException"


def record_run(ctx: Context, command: str, changed: list[str], reason: str | None = None) -> str | None:
    """Record that `command` changed `changed` (one line each, never a
    secret's or parameter's value) in `ctx`'s environment; the record's key,
    or None when nothing changed or the record could not be written (then
    warned on stderr: the changes stand)."""
    if not changed:
        return None
    table = ctx.names.deployments_table
    now = iso(datetime.now(UTC))
    key = f"{records.RUN_PREFIX}{command.replace(' ', '-')}#{now}#{uuid.uuid4().hex[:8]}"
    try:
        caller = ctx.identity(f"recording the {command} run").get("Arn", "unknown")
        item = {
            records.INDEX_PARTITION: ctx.config.name,
            records.INDEX_SORT: now,
            records.COMMAND: command,
            records.CHANGED: list(changed),
            records.RAN_BY: caller,
            records.EXPIRES: records.expires_at(now, ctx.config.deployment_record_ttl_days),
        }
        if reason:
            item[records.REASON] = reason
        # A new record only ("attribute_not_exists" on the key): never overwrites another.
        existing = ctx.store().claim(key, item, read_existing=False)
    except (OpsError, *AWS_ERRORS) as error:
        _warn(command, table, error)
        return None
    if existing is not None:
        print(f"! {command}: a record {key} already existed in {table}; this run is not recorded", file=sys.stderr)
        return None
    return key


def _warn(command: str, table: str, error: Exception) -> None:
    if not isinstance(error, OpsError) and code(error) == _NO_TABLE:
        why = f"the table {table} does not exist here yet (core's stack makes it)"
    else:
        why = str(error if isinstance(error, OpsError) else explain(error, f"PutItem on {table}"))
    print(
        f"! {command}: the changes are made, but the run is not recorded in the ledger (PutItem on {table}): {why}",
        file=sys.stderr,
    )
