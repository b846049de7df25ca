"""staging: pre-production validation with production-like monitoring.

Approval is optional here and off by default; set `approval_required=True`
for a release that needs a second pair of eyes before production.
"""

from environments.config import EnvironmentConfig, GitHubSource, standard_deploy_targets

# The one place this environment's AWS account is set: the stacks, the state
# backend and the deploy targets' deployer roles all read it from here.
ACCOUNT_ID = "123456789012"

CONFIG = EnvironmentConfig(
    name="staging",
    account_id=ACCOUNT_ID,
    region="us-east-1",
    github=GitHubSource(owner="your-org", repo="kiro-codebuild-worker", branch="main"),
    notification_email="devops-team@example.com",
    deploy_targets=standard_deploy_targets("staging", ACCOUNT_ID, "https://{stage}-{env}.kiro.example.com/health"),
    approval_required=False,
    health_check_duration_minutes=5,
    polling_interval_minutes=10,
)
