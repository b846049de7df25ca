"""The changes a pull request (or a hand in the console) can make to the
delivery controls, as edits of an `aws_codepipeline` or deploy-project
resource in the synthesized JSON's shape (a single block is an object). One
home for them: the control-diff tests edit synthesized resources with them,
the plan-review rehearsal edits the stacks that real Terraform then plans."""

from __future__ import annotations

from topology import naming

# A change window other than every environment file's.
OTHER_WINDOW = "* * 8-18 ? * MON-FRI *"
# A deploy role in an account no environment names.
OTHER_ROLE = "arn:aws:iam::999999999999:role/elsewhere"


def stage(pipeline: dict, name: str) -> dict:
    return next(s for s in pipeline["stage"] if s["name"] == name)


def remove_approval(pipeline: dict) -> None:
    """The approval stage goes (a stage cannot be left without an action)."""
    pipeline["stage"] = [s for s in pipeline["stage"] if s["name"] != naming.APPROVAL_STAGE]


def disable_rollback(pipeline: dict, stage_name: str) -> None:
    stage(pipeline, stage_name).pop("on_failure")


def change_window(pipeline: dict, cron: str = OTHER_WINDOW) -> None:
    rules = stage(pipeline, naming.WINDOW_STAGE)["before_entry"]["condition"]["rule"]
    (window,) = [r for r in rules if r["name"] == naming.CHANGE_WINDOW_RULE]
    window["configuration"]["Cron"] = cron


def change_deploy_role(project: dict, role_arn: str = OTHER_ROLE) -> None:
    (variable,) = [v for v in project["environment"]["environment_variable"] if v["name"] == "DEPLOY_ROLE_ARN"]
    variable["value"] = role_arn
