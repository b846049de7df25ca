"""Golden plans: the real plans of the production rehearsal's review
scenarios (tests/support/plan_scenarios.py), captured as fixtures so that the
summary, control diff, policy, binding and drift tests run as unit tests on
real Terraform and real provider output.

    make plan-fixtures      (the acceptance tier's rehearsal, writing them)

Each scenario is `tests/fixtures/plans/golden/<scenario>.json`: the plan JSON
of `terraform show -json` reduced to what the reviewers' tools read
(`resource_changes`, `resource_drift`, `output_changes`), with what differs
from one emulator run to the next replaced by stable placeholders
(`normalise`), and the `terraform plan` text beside it. `MANIFEST.json`
records the Terraform and provider versions that made them; a resource entry
that several scenarios share is stored once, in `SHARED.json`.

The acceptance tier plans the same scenarios again and compares them, resource
address by resource address, values included (`differences`: two runs on the
emulator normalise equal); a stack change that changes a plan fails there
until the fixtures are regenerated.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "plans" / "golden"
MANIFEST = "MANIFEST.json"
KEPT = ("format_version", "resource_changes", "resource_drift", "output_changes")

# What the emulator makes up anew on every run, each replaced by a numbered
# placeholder in order of first appearance (so equal values stay equal and
# distinct ones distinct within a plan).
_VOLATILE = [
    ("uuid", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")),
    ("iam-id", re.compile(r"\bA(?:ROA|IDA|NPA|GPA|IPA|SIA|KIA)[A-Z0-9]{12,20}\b")),
    ("time", re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")),
    ("endpoint", re.compile(r"http://127\.0\.0\.1:\d+")),
]
# Kinds whose order of first appearance changes from run to run (which role
# the emulator created first): one placeholder for all of them.
_UNNUMBERED = {"time"}


class _Placeholders:
    def __init__(self):
        self.seen: dict[tuple[str, str], str] = {}

    def __call__(self, text: str) -> str:
        for kind, pattern in _VOLATILE:
            text = pattern.sub(lambda m, kind=kind: self._name(kind, m.group(0)), text)
        return text

    def _name(self, kind: str, value: str) -> str:
        if kind in _UNNUMBERED:
            return f"<{kind}>"
        key = (kind, value)
        if key not in self.seen:
            self.seen[key] = f"<{kind}-{sum(1 for k, _ in self.seen if k == kind) + 1}>"
        return self.seen[key]


def _walk(value, replace):
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, list):
        return [_walk(v, replace) for v in value]
    if isinstance(value, dict):
        return {k: _walk(value[k], replace) for k in sorted(value)}
    return value


def normalise(plan: dict, text: str = "") -> tuple[dict, str]:
    """The plan's reviewed parts and its text, with volatile values replaced
    consistently across both."""
    replace = _Placeholders()
    reduced = _walk({k: plan[k] for k in KEPT if k in plan}, replace)
    return reduced, replace(text)


def file_name(scenario: str) -> str:
    return scenario.replace(" ", "-") + ".json"


SHARED = "SHARED.json"
SECTIONS = ("resource_changes", "resource_drift")


def _digest(entry: dict) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:16]


def write(scenarios: dict[str, tuple[dict, str]], manifest: dict, directory: Path = GOLDEN) -> None:
    """Replace the fixtures with `scenarios` ({name: (plan, text)}), whole:
    written beside the old ones and swapped in only when all are written.
    A resource entry that two scenarios share is stored once, in SHARED.json,
    and named by its digest where it stands."""
    reduced = {name: normalise(plan, text) for name, (plan, text) in scenarios.items()}
    counts: dict[str, int] = {}
    for plan, _ in reduced.values():
        for section in SECTIONS:
            for entry in plan.get(section, []):
                counts[_digest(entry)] = counts.get(_digest(entry), 0) + 1
    shared: dict[str, dict] = {}
    partial = directory.with_name(directory.name + ".partial")
    if partial.exists():
        for path in partial.iterdir():
            path.unlink()
    partial.mkdir(parents=True, exist_ok=True)
    for name, (plan, text) in sorted(reduced.items()):
        for section in SECTIONS:
            entries = []
            for entry in plan.get(section, []):
                digest = _digest(entry)
                if counts[digest] > 1:
                    shared[digest] = entry
                    entries.append({"shared": digest})
                else:
                    entries.append(entry)
            if section in plan:
                plan[section] = entries
        body = {"scenario": name, "plan": plan, "text": text}
        (partial / file_name(name)).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    (partial / SHARED).write_text(json.dumps(shared, indent=1, sort_keys=True) + "\n")
    (partial / MANIFEST).write_text(json.dumps({**manifest, "scenarios": sorted(scenarios)}, indent=2) + "\n")
    if directory.exists():
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    partial.rename(directory)


def manifest(directory: Path = GOLDEN) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def load(directory: Path = GOLDEN) -> tuple[dict[str, dict], dict[str, str]]:
    """({scenario: plan}, {scenario: text}) as captured, shared entries put back."""
    shared = json.loads((directory / SHARED).read_text())
    plans, texts = {}, {}
    for name in manifest(directory)["scenarios"]:
        body = json.loads((directory / file_name(name)).read_text())
        plan = body["plan"]
        for section in SECTIONS:
            if section in plan:
                plan[section] = [shared[e["shared"]] if set(e) == {"shared"} else e for e in plan[section]]
        plans[name], texts[name] = plan, body["text"]
    return plans, texts


def _changed_paths(before, after, path: str = "") -> Iterator[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _changed_paths(b, a, f"{path}[{index}]")
    elif before != after:
        yield path or "(whole)"


def _entries(plan: dict) -> dict[str, dict]:
    found = {}
    for section in SECTIONS:
        for change in plan.get(section, []):
            deposed = f" (deposed {change['deposed']})" if change.get("deposed") else ""
            found[f"{section}: {change['address']}{deposed}"] = change["change"]
    for name, body in plan.get("output_changes", {}).items():
        found[f"output_changes: {name}"] = body
    return found


def differences(golden: dict[str, dict], fresh: dict[str, dict]) -> list[str]:
    """Each difference between two sets of plans, named by scenario and
    address: what is planned, its actions, and the attribute paths whose
    normalised values differ (two runs on the emulator normalise equal)."""
    found = [f"scenario {name!r}: only in the fixtures" for name in sorted(set(golden) - set(fresh))]
    found += [f"scenario {name!r}: not in the fixtures" for name in sorted(set(fresh) - set(golden))]
    for name in sorted(set(golden) & set(fresh)):
        old, new = _entries(normalise(golden[name])[0]), _entries(normalise(fresh[name])[0])
        for address in sorted(set(old) | set(new)):
            if address not in new:
                found.append(f"{name}: {address}: no longer planned (was {'/'.join(old[address]['actions'])})")
            elif address not in old:
                found.append(f"{name}: {address}: newly planned ({'/'.join(new[address]['actions'])})")
            elif old[address]["actions"] != new[address]["actions"]:
                found.append(
                    f"{name}: {address}: {'/'.join(old[address]['actions'])} -> {'/'.join(new[address]['actions'])}"
                )
            elif old[address] != new[address]:
                paths = [
                    f"{side}.{path}"
                    for side in ("before", "after")
                    for path in _changed_paths(old[address].get(side), new[address].get(side))
                ]
                found.append(f"{name}: {address}: values differ at {', '.join(paths) or 'sensitivity or unknowns'}")
    return found
