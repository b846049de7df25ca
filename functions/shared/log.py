"""Structured JSON logs: one object per line, which CloudWatch Logs Insights
queries by field (`fields level, message, deploymentId`)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


class Logger:
    def __init__(self, function: str, stream=None):
        self.function = function
        self.stream = stream  # None: whatever sys.stdout is when a line is written
        self.context: dict[str, Any] = {}

    def bind(self, **fields: Any) -> None:
        """Fields added to every line until the next `bind` (per invocation)."""
        self.context = {k: v for k, v in fields.items() if v is not None}

    def add(self, **fields: Any) -> None:
        """More fields for the rest of this invocation."""
        self.context.update({k: v for k, v in fields.items() if v is not None})

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        line = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": level,
            "function": self.function,
            "message": message,
            **self.context,
            **fields,
        }
        stream = self.stream or sys.stdout
        stream.write(json.dumps(line, default=str, sort_keys=True) + "\n")
        stream.flush()

    def info(self, message: str, **fields: Any) -> None:
        self._emit("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._emit("WARNING", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit("ERROR", message, fields)
