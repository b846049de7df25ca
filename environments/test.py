"""test: development and testing. No approval, fast feedback, basic alarms."""

from environments.config import EnvironmentConfig, GitHubSource, standard_deploy_targets

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="test",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("test", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    approval_required=False,
    health_check_duration_minutes=5,
    polling_interval_minutes=5,
)
