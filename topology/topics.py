"""The notification topics of `monitoring-{env}`: one row per topic, as
projects.py is for the CodeBuild projects and functions.py for the Lambda
functions.

A topic's name is `kiro-pipeline-{env}-{purpose}` (naming.ResourceNames.topic).
Which topics the alarms publish to is not written here: it follows from the
alarm rows that notify them (modules/metrics.py), so the topic policy and the
alarms cannot disagree.

Pure data: no cdktf, no boto3, nothing else of this repository.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Topic:
    # The topic's purpose: its name, its construct IDs (`<purpose>_topic`...).
    purpose: str
    # The CodePipeline notification events a CodeStar Notifications rule of
    # the same name sends to it (none: no rule, and no publisher statement
    # for codestar-notifications.amazonaws.com). The IDs are the pipeline
    # events of the Developer Tools console's notification concepts: "For a
    # complete list of event types and IDs, see Notification concepts"
    # (https://docs.aws.amazon.com/dtconsole/latest/userguide/concepts.html#events-ref-pipeline).
    notification_events: tuple[str, ...] = ()


TOPICS = (
    Topic(
        purpose="deployments",
        notification_events=(
            "codepipeline-pipeline-pipeline-execution-started",
            "codepipeline-pipeline-pipeline-execution-succeeded",
            "codepipeline-pipeline-pipeline-execution-failed",
        ),
    ),
    Topic(purpose="approvals", notification_events=("codepipeline-pipeline-manual-approval-needed",)),
    Topic(purpose="rollbacks"),
)
