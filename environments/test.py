"""test: development and testing. No approval, fast feedback, basic alarms."""

from environments.config import EnvironmentConfig, GitHubSource, standard_deploy_targets

CONFIG = EnvironmentConfig(
    name="test",
    account_id="123456789012",
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("test", "123456789012", "https://{stage}-{env}.kiro.example.com/health"),
    approval_required=False,
    health_check_duration_minutes=5,
    polling_interval_minutes=5,
)
