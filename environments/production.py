"""production: the live system. Mandatory approval, longer health checks,
and deletion protection on the data that matters."""

from environments.config import BuildSettings, EnvironmentConfig, GitHubSource, standard_deploy_targets

CONFIG = EnvironmentConfig(
    name="production",
    account_id="123456789012",
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("production", "123456789012", "https://{stage}-{env}.kiro.example.com/health"),
    build=BuildSettings(compute_type="BUILD_GENERAL1_MEDIUM"),
    approval_required=True,
    health_check_duration_minutes=10,
    polling_interval_minutes=15,
    deletion_protection=True,
)
