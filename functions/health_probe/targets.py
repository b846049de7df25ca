"""The probe's TARGETS setting, read at cold start with the configuration's
own URL rule (shared/urls.py), so no URL the environment configuration
accepts is refused here, and none it refuses is probed."""

from __future__ import annotations

import json

from functions.shared import urls


def read(raw: str) -> dict[str, str]:
    """TARGETS: a JSON object of deploy target to https URL; a ValueError
    names each target whose URL the probe cannot check, and why."""
    value = json.loads(raw)
    if not isinstance(value, dict) or not value:
        raise ValueError("must be a non-empty JSON object of target to URL")
    bad = [f"{k}: {urls.https_url_problem(v)}" for k, v in sorted(value.items()) if not urls.is_https_url(v)]
    if bad:
        raise ValueError(f"not an https URL the probe can check for target(s) {'; '.join(bad)}")
    return {str(k): v for k, v in value.items()}
