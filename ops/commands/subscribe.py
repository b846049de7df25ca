"""E-mail subscriptions to the three topics (python -m ops subscribe ENV ADDRESS)."""

from __future__ import annotations

import argparse

from ops.arguments import Command
from ops.common import Context
from ops.values import email


def cmd_subscribe(ctx: Context, args) -> int:
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


def arguments_subscribe(parser: argparse.ArgumentParser) -> None:
    # The configuration's rule for notification_email, whole: a pasted
    # address with its newline would be subscribed as a different endpoint.
    parser.add_argument("email", type=email)


COMMANDS = {
    "subscribe": Command(
        cmd_subscribe,
        "Subscribe an email address to the three topics",
        "subscribe test devops@example.com",
        arguments=arguments_subscribe,
    ),
}
