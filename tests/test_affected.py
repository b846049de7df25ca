"""Which environments a pull request plans (review/affected.py)."""

from __future__ import annotations

import pytest

from review.affected import affected

ALL = ["test", "staging", "production"]


@pytest.mark.parametrize(
    "paths, planned",
    [
        (["environments/production.py"], ["production"]),
        (["environments/staging.py", "environments/test.py"], ["test", "staging"]),
        (["environments/production.py", "docs/operations.md"], ["production"]),
        (["docs/operations.md", "README.md", "tests/test_config.py"], []),
        (["environments/config.py"], ALL),  # every environment reads it
        (["modules/pipeline.py"], ALL),
        (["functions/rollback/logic.py"], ALL),
        (["topology/naming.py"], ALL),
        (["buildspecs/deploy.yml"], ALL),
        (["requirements.txt"], ALL),
        (["environments/newenv.py"], ALL),  # unknown: when in doubt, all
        (["something/unexpected.txt"], ALL),
        ([], []),
    ],
)
def test_affected_environments(paths, planned):
    assert affected(paths) == planned
