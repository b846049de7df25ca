"""The environment's change calendar: an SSM Change Calendar document whose
events are one-off freezes of production releases (`python -m ops freeze`
writes them; the freeze gate function enforces them).

Terraform creates the calendar empty and then leaves its content to
`ops freeze`: `ignore_changes` on `content`, or the next apply would delete
every freeze. The calendar's format: functions/shared/contract/calendar.py.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.ssm_document import SsmDocument

from functions.shared.contract import calendar
from modules.base_stack import BaseStack


def change_calendar(stack: BaseStack) -> SsmDocument:
    """ "When you create a Change Calendar entry, you're creating a Systems
    Manager document of the type ChangeCalendar" (Systems Manager user guide,
    "AWS Systems Manager Change Calendar")."""
    return SsmDocument(
        stack,
        "freeze_calendar",
        name=stack.names.freeze_calendar,
        document_type="ChangeCalendar",
        document_format="TEXT",
        content=calendar.empty(),
        lifecycle=TerraformResourceLifecycle(ignore_changes=["content"]),
    )
