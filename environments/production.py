"""production: the live system. Mandatory approval, longer health checks,
and deletion protection on the data that matters."""

from environments.config import (
    BuildSettings,
    ChangeWindow,
    EnvironmentConfig,
    GitHubSource,
    standard_deploy_targets,
)

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="production",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("production", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    build=BuildSettings(compute_type="BUILD_GENERAL1_MEDIUM"),
    approval_required=True,
    health_check_duration_minutes=10,
    polling_interval_minutes=15,
    deletion_protection=True,
    # Releases start Monday to Thursday, 09:00-16:59 UTC; outside that, the
    # break-glass is `python -m ops override production --stage ProductionWindow`.
    change_window=ChangeWindow(enabled=True),
    # One-off freezes (holidays, launches): `python -m ops freeze production add ...`.
    respect_freezes=True,
)
