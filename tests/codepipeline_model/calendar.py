"""A stand-in for the Systems Manager calls a Change Calendar takes: moto
refuses TEXT documents ("Invalid document format TEXT") and has no
GetCalendarState, so this fake keeps the calendar documents and answers
GetCalendarState from their events, on the simulation's clock. Requests and
answers are validated against botocore's SSM model; errors are botocore's
modeled exceptions.

What it reads of a calendar (its own reading of iCalendar, not the
product's): X-CALENDAR-TYPE, and each VEVENT's DTSTART and DTEND written in
UTC (`20261224T000000Z`) or as dates (`VALUE=DATE:20261224`, midnight UTC);
any other event form is refused (ModelError), not guessed.

Semantics, from the Systems Manager user guide ("AWS Systems Manager Change
Calendar", https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-change-calendar.html):
"DEFAULT_OPEN, or Open by default: All actions can run by default, except
during calendar events. During events, the state of a DEFAULT_OPEN calendar
is CLOSED", and the reverse for DEFAULT_CLOSED. GetCalendarState ("Getting
the state of a change calendar"): "If you don't add the --at-time parameter,
the current time is used"; NextTransitionTime is "The time, as an ISO 8601
string, that the calendar state will change" (absent when no change is
coming: assumed). Which version of the document it reads is not said: the
fake reads the default version (assumed). An event's end is exclusive
(RFC 5545 DTEND; assumed for Change Calendar).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

SSM = botocore.session.get_session().get_service_model("ssm")
EXCEPTIONS = ClientExceptionsFactory().create_client_exceptions(SSM)
_VALIDATOR = ParamValidator()


def _error(code: str, message: str, operation: str) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return EXCEPTIONS.from_code(code)(response, operation)


def _utc(text: str) -> datetime:
    if re.fullmatch(r"\d{8}T\d{6}Z", text):
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if re.fullmatch(r"\d{8}", text):
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    raise ValueError(f"the model reads UTC times and dates only, not {text!r}")


def events(content: str) -> tuple[str, list[tuple[datetime, datetime]]]:
    """The calendar's type and its events' [start, end) spans."""
    unfolded = re.sub(r"\r?\n[ \t]", "", content)
    kind = re.search(r"^X-CALENDAR-TYPE:(\S+)", unfolded, re.M)
    spans = []
    for block in re.findall(r"BEGIN:VEVENT(.*?)END:VEVENT", unfolded, re.S):
        start = re.search(r"^DTSTART(?:;VALUE=DATE)?:(\S+)", block, re.M)
        end = re.search(r"^DTEND(?:;VALUE=DATE)?:(\S+)", block, re.M)
        if not start or not end or re.search(r"^(RRULE|DTSTART;TZID)", block, re.M):
            raise ValueError("the model reads single events with DTSTART and DTEND only")
        spans.append((_utc(start.group(1)), _utc(end.group(1))))
    return (kind.group(1) if kind else "DEFAULT_OPEN"), spans


def state_at(content: str, at: datetime) -> tuple[str, datetime | None]:
    """OPEN or CLOSED at `at`, and the next moment that changes."""
    kind, spans = events(content)
    inside = any(s <= at < e for s, e in spans)
    during, outside = ("CLOSED", "OPEN") if kind == "DEFAULT_OPEN" else ("OPEN", "CLOSED")
    state = during if inside else outside
    # The first boundary after `at` where the state differs.
    for boundary in sorted({t for span in spans for t in span if t > at}):
        if any(s <= boundary < e for s, e in spans) != inside:
            return state, boundary
    return state, None


class CalendarSSM:
    """`ssm` for the calls a Change Calendar takes, on `clock()`'s time."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        account: str = "123456789012",
        region: str = "us-east-1",
        others: Any = None,
    ):
        # `others`: a client for every other SSM call (moto's), so one `ssm`
        # serves a command that also reads parameters.
        self.clock, self.account, self.region, self.others = clock, account, region, others
        self.documents: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict]] = []
        self._faults: dict[str, list[ClientError]] = {}
        self.exceptions = EXCEPTIONS
        self.meta = SimpleNamespace(service_model=SSM, region_name=region)

    def __getattr__(self, name: str):
        if name.startswith("_") or self.__dict__.get("others") is None:
            raise AttributeError(name)
        return getattr(self.others, name)

    def fail(self, operation: str, code: str, times: int = 1) -> None:
        self._faults.setdefault(operation, []).extend([_error(code, code, operation)] * times)

    def _call(self, operation: str, params: dict, answer) -> dict:
        model = SSM.operation_model(operation)
        report = _VALIDATOR.validate(params, model.input_shape)
        if report.has_errors():
            raise AssertionError(f"{operation}: invalid parameters for AWS: {report.generate_report()}")
        self.calls.append((operation, params))
        if self._faults.get(operation):
            raise self._faults[operation].pop(0)
        return answer()

    def _document(self, name: str, operation: str) -> dict:
        if name not in self.documents:
            raise _error("InvalidDocument", f"the document {name} does not exist", operation)
        return self.documents[name]

    def create_document(self, **params) -> dict:
        def answer():
            if params["Name"] in self.documents:
                raise _error("DocumentAlreadyExists", "the document already exists", "CreateDocument")
            self.documents[params["Name"]] = {"versions": [params["Content"]], "default": 1}
            return {"DocumentDescription": {"Name": params["Name"], "DocumentVersion": "1"}}

        return self._call("CreateDocument", params, answer)

    def get_document(self, **params) -> dict:
        def answer():
            doc = self._document(params["Name"], "GetDocument")
            wanted = params.get("DocumentVersion", "$DEFAULT")
            number = {"$LATEST": len(doc["versions"]), "$DEFAULT": doc["default"]}.get(wanted) or int(wanted)
            return {
                "Name": params["Name"],
                "DocumentVersion": str(number),
                "Content": doc["versions"][number - 1],
                "DocumentType": "ChangeCalendar",
                "DocumentFormat": "TEXT",
            }

        return self._call("GetDocument", params, answer)

    def update_document(self, **params) -> dict:
        def answer():
            doc = self._document(params["Name"], "UpdateDocument")
            latest = len(doc["versions"])
            # "Currently, Systems Manager supports updating only the latest
            # version of the document" (UpdateDocument, DocumentVersion).
            if params.get("DocumentVersion", "$LATEST") not in ("$LATEST", str(latest)):
                raise _error("InvalidDocumentVersion", "only the latest version can be updated", "UpdateDocument")
            if params["Content"] == doc["versions"][-1]:
                raise _error("DuplicateDocumentContent", "the content is the same", "UpdateDocument")
            doc["versions"].append(params["Content"])
            return {"DocumentDescription": {"Name": params["Name"], "DocumentVersion": str(latest + 1)}}

        return self._call("UpdateDocument", params, answer)

    def update_document_default_version(self, **params) -> dict:
        def answer():
            doc = self._document(params["Name"], "UpdateDocumentDefaultVersion")
            number = int(params["DocumentVersion"])
            if not 1 <= number <= len(doc["versions"]):
                raise _error("InvalidDocumentVersion", "no such version", "UpdateDocumentDefaultVersion")
            doc["default"] = number
            return {"Description": {"Name": params["Name"], "DefaultVersion": str(number)}}

        return self._call("UpdateDocumentDefaultVersion", params, answer)

    def get_calendar_state(self, **params) -> dict:
        def answer():
            at = self.clock()
            if params.get("AtTime"):
                at = datetime.fromisoformat(params["AtTime"].replace("Z", "+00:00")).astimezone(UTC)
            states, nexts = [], []
            for name in params["CalendarNames"]:
                doc = self._document(name.rsplit("/", 1)[-1], "GetCalendarState")
                try:
                    state, changes = state_at(doc["versions"][doc["default"] - 1], at)
                except ValueError as error:
                    raise _error("InvalidDocumentType", str(error), "GetCalendarState") from None
                states.append(state)
                if changes:
                    nexts.append(changes)
            # "If you specify more than one calendar in a request, the command
            # returns the status of OPEN only if all calendars in the request are open."
            found: dict[str, Any] = {
                "State": "OPEN" if all(s == "OPEN" for s in states) else "CLOSED",
                "AtTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if nexts:
                found["NextTransitionTime"] = min(nexts).strftime("%Y-%m-%dT%H:%M:%SZ")
            return found

        return self._call("GetCalendarState", params, answer)
