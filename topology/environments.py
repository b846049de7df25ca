"""The environments kiro-pipeline deploys: one pipeline each, in this order.

A topology fact, not a setting: `environments/` validates each team's file
against it, and plan review (which may import only `topology`) reads it to
know which environments a change can affect.
"""

ENVIRONMENT_NAMES = ("test", "staging", "production")
