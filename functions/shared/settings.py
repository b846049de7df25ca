"""Environment variables, validated once at cold start: the reader and
each function's settings live in contract/settings.py, re-exported here."""

from __future__ import annotations

from .contract.settings import *  # noqa: F403
