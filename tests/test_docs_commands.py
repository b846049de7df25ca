"""Every `python -m MODULE` and `make TARGET` that a reader is told to run
resolves: in the README and docs/, in the workflows, and in the comments and
docstrings of the Python packages. A module that moved (plan review went from
tools/ to review/) or a target that was renamed leaves a command that fails
for whoever copies it, and nothing else notices.

Repository files named in the same places (`tests/...py`, with or
without `::test_name`) exist, and so does the named test.

What "resolves" means: `python -m MODULE` names a module of this repository
that `-m` can run (a package needs a __main__.py), or one of the external
tools the repository installs (EXTERNAL); `python -m ops CMD` names a
registered ops command (how the rest of such a line parses is
tests/test_readme_commands.py's job, for the documents); `make TARGET` names a
rule of the Makefile. Placeholders (`make COMMAND`, `python -m ops <command>`)
and options are usage patterns, not commands, and are left alone.

Where a `make` counts as a command (the word is also English): at the start
of an inline code span, of a line in a fenced block, of a workflow's shell
line (`run: make synth`), or after `&&`, `;`, `|` or `$ ` there. A `python -m`
counts wherever it is written.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops.commands import COMMANDS

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PACKAGES = ("ops", "tools", "review", "modules", "environments", "topology", "functions", "tests")
# Run with `-m` by the docs or the Makefile, installed by requirements*.txt
# or part of Python itself; never a module of this repository.
EXTERNAL = frozenset({"pip", "pytest", "ruff", "venv", "moto.server", "json.tool", "http.server", "checkov.main"})

PYTHON_M = re.compile(r"\bpython3?(?:\.\d+)? -m ([^\s`'\"|;&)]+)(?:[ \t]+([^\s`'\"|;&)]+))?")
MODULE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
# `make` at a command position: the start of a span or shell line, or after a
# shell separator or a prompt.
MAKE = re.compile(r"(?:^|&&|;|\||\$ )[ \t]*make((?:[ \t]+[^\s`|;&#<>]+)*)")
# A repository file named in prose, optionally with a test's node id: it
# exists, and so does the test (modules/literal.py cited a test file that no
# longer existed, and nothing noticed).
REPOSITORY_PATH = re.compile(
    r"(?<![\w./-])((?:ops|tools|review|modules|environments|topology|functions|tests|buildspecs|docs|\.github)"
    r"/[\w./-]*\w\.(?:py|yml|yaml|md|json|txt))(?:::(\w+))?"
)
PLACEHOLDER = re.compile(r"^(<.*|[A-Z][A-Z_]*|\.\.\.|…|\[.*)$")


@dataclass(frozen=True)
class Mention:
    where: str  # file:line
    command: str  # `python -m X [Y]` or `make X`
    problem: str


def make_targets(makefile: Path = REPO / "Makefile") -> frozenset[str]:
    return frozenset(re.findall(r"^([a-z][a-z0-9-]*):", makefile.read_text(), re.M))


def module_problem(module: str, root: Path = REPO) -> str | None:
    """None when `-m` can run the module, else why it cannot."""
    if module in EXTERNAL:
        return None
    path = root.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        return None
    if (path / "__init__.py").is_file():
        return None if (path / "__main__.py").is_file() else f"{module} is a package without __main__.py"
    return f"no module {module} in the repository (nor a known external one)"


def _python_problems(text: str, root: Path) -> list[tuple[str, str]]:
    found = []
    for match in PYTHON_M.finditer(text):
        module, word = match.group(1).rstrip(".,:"), match.group(2)
        if not MODULE.fullmatch(module):  # `review.…`, `MODULE`, `<module>`: a pattern
            continue
        command = f"python -m {module}"
        problem = module_problem(module, root)
        if problem is None and module == "ops" and word and not word.startswith("-") and not PLACEHOLDER.match(word):
            command += f" {word}"
            if word not in COMMANDS:
                problem = f"{word!r} is not an ops command (ops.commands.COMMANDS)"
        if problem:
            found.append((command, problem))
    return found


def path_problem(path: str, test: str | None, root: Path = REPO) -> str | None:
    file = root / path
    if not file.is_file():
        return f"no file {path} in the repository"
    if test and not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{test}\b", file.read_text(), re.M):
        return f"{path} defines no {test}"
    return None


def _path_problems(text: str, root: Path) -> list[tuple[str, str]]:
    found = []
    for match in REPOSITORY_PATH.finditer(text):
        problem = path_problem(match.group(1), match.group(2), root)
        if problem:
            found.append((match.group(0), problem))
    return found


def _make_problems(code: str, targets: frozenset[str]) -> list[tuple[str, str]]:
    """`code` is one code span or one shell line."""
    found = []
    for match in MAKE.finditer(code):
        for word in match.group(1).split():
            if word.startswith("-") or "=" in word or PLACEHOLDER.match(word):
                continue
            if word not in targets:
                found.append((f"make {word}", f"{word!r} is not a Makefile target"))
    return found


def _code_of(line: str) -> list[str]:
    """The inline code spans of a prose line."""
    return re.findall(r"`([^`]+)`", line)


def scan_text(
    text: str, name: str, kind: str, targets: frozenset[str], root: Path = REPO, first: int = 1
) -> list[Mention]:
    """kind: "markdown" (spans and fenced blocks), "workflow" (shell lines
    and comments' spans) or "prose" (a comment or docstring: spans only)."""
    mentions, fence = [], False
    for number, line in enumerate(text.splitlines(), first):
        stripped = line.strip()
        if kind == "markdown" and stripped.startswith("```"):
            fence = not fence
            continue
        if kind == "markdown" and fence:
            code = [line]
        elif kind == "workflow" and not stripped.startswith("#"):
            code = [re.sub(r"^\s*(?:-\s*)?(?:run:\s*[|>]?-?)?", "", line.split(" #")[0]), *_code_of(line)]
        else:
            code = _code_of(line)
        problems = (
            _python_problems(line, root)
            + [p for span in code for p in _make_problems(span, targets)]
            + _path_problems(line, root)
        )
        mentions += [Mention(f"{name}:{number}", command, problem) for command, problem in problems]
    return mentions


def python_prose(source: str) -> list[tuple[int, str]]:
    """(first line, text) of each comment and docstring of a Python file."""
    pieces = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                pieces.append((first.lineno, first.value.value))
    return pieces


def scan_python(path: Path, targets: frozenset[str], base: Path = REPO) -> list[Mention]:
    """base: what the reported file name is relative to."""
    name = str(path.relative_to(base))
    return [
        mention
        for line, text in python_prose(path.read_text())
        for mention in scan_text(text, name, "prose", targets, first=line)
    ]


def python_files(root: Path = REPO) -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if "__pycache__" not in path.parts and ".venv" not in path.parts
    )


def all_mentions() -> list[Mention]:
    targets = make_targets()
    found = []
    for path in DOCUMENTS:
        found += scan_text(path.read_text(), str(path.relative_to(REPO)), "markdown", targets)
    for path in WORKFLOWS:
        found += scan_text(path.read_text(), str(path.relative_to(REPO)), "workflow", targets)
    for path in python_files():
        found += scan_python(path, targets)
    return found


def test_every_command_written_for_a_reader_resolves():
    broken = [f"{m.where}: `{m.command}`: {m.problem}" for m in all_mentions()]
    assert broken == [], "\n".join(broken)


def test_the_scan_reads_every_kind_of_place():
    """The scan is not vacuous: it sees the commands it is meant to check
    (a regex that matched nothing would pass the test above)."""
    seen = {"markdown": set(), "workflow": set(), "python": set()}
    targets = make_targets()
    for path in DOCUMENTS:
        seen["markdown"] |= _seen(path.read_text(), "markdown")
    for path in WORKFLOWS:
        seen["workflow"] |= _seen(path.read_text(), "workflow")
    for path in python_files():
        for _, text in python_prose(path.read_text()):
            seen["python"] |= _seen(text, "prose")
    assert {"python -m ops", "python -m environments", "make synth", "make test"} <= seen["markdown"]
    assert {"python -m review.plan_summary", "make synth", "review/plan_binding.py"} <= seen["workflow"]
    assert {"python -m ops", "make functions", "modules/provider_import.py"} <= seen["python"]
    assert "tests/test_iam_policies.py" in seen["markdown"]
    assert {"synth", "test", "functions", "deploy"} <= targets


def _seen(text: str, kind: str) -> set[str]:
    """Every command and path the scan recognises in text, resolved or not:
    with no Makefile target and an empty repository, each one is reported."""
    reported = scan_text(text, "x", kind, frozenset(), root=Path("/nonexistent"))
    return {" ".join(m.command.split()[:3]) for m in reported}


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (
            "markdown",
            "Grant the roles with `python -m tools.ci_roles --env test`, then `make no-such-target ENV=test`\n"
            "(tests/unit/test_literal.py checks it).\n",
        ),
        (
            "markdown",
            "```bash\nmake no-such-target ENV=test\npython -m tools.ci_roles\n```\ntests/unit/test_literal.py\n",
        ),
        (
            "workflow",
            "      # roles: python -m tools.ci_roles (see `make no-such-target`, tests/unit/test_literal.py)\n"
            "      - run: make no-such-target\n",
        ),
        ("prose", "Run `python -m tools.ci_roles` or `make no-such-target` (tests/unit/test_literal.py)."),
    ],
    ids=["markdown-span", "markdown-fence", "workflow", "comment"],
)
def test_a_planted_break_is_reported(kind, text):
    problems = {m.command for m in scan_text(text, "planted", kind, make_targets())}
    assert problems == {"python -m tools.ci_roles", "make no-such-target", "tests/unit/test_literal.py"}


def test_a_test_that_is_not_in_its_file_is_reported():
    text = "tests/test_docs.py::test_every_relative_link_resolves, tests/test_docs.py::test_gone"
    problems = {m.command: m.problem for m in scan_text(text, "planted", "prose", make_targets())}
    assert problems == {"tests/test_docs.py::test_gone": "tests/test_docs.py defines no test_gone"}


def test_a_wrong_ops_command_and_a_package_without_main_are_reported():
    text = "`python -m ops grant-roles --env test`, `python -m review` and `python -m ops <command>`"
    problems = {m.command: m.problem for m in scan_text(text, "planted", "prose", make_targets())}
    assert problems == {
        "python -m ops grant-roles": "'grant-roles' is not an ops command (ops.commands.COMMANDS)",
        "python -m review": "review is a package without __main__.py",
    }


def test_english_make_and_usage_patterns_are_not_commands():
    text = (
        "To make sure the stacks build, `make COMMAND ENV=...` and `make -n`:\n"
        "`make deploy ENV=test [STACK=core|pipeline]` and `python -m ops --help`.\n"
    )
    assert scan_text(text, "prose", "prose", make_targets()) == []
    assert scan_text(text, "doc", "markdown", make_targets()) == []


def test_a_comment_and_a_docstring_are_read_but_code_is_not(tmp_path):
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "mod.py"
    source.write_text(
        '"""Run `make no-such-target`."""\n'
        "# then python -m tools.ci_roles\n"
        'COMMAND = "python -m tools.gone"  # a string the code runs is its own test\'s job\n'
        "def f():\n"
        '    """`python -m ops no-such-command`"""\n'
    )
    found = {(m.where, m.command) for m in scan_python(source, make_targets(), base=tmp_path)}
    assert found == {
        ("pkg/mod.py:1", "make no-such-target"),
        ("pkg/mod.py:2", "python -m tools.ci_roles"),
        ("pkg/mod.py:5", "python -m ops no-such-command"),
    }


def test_the_makefile_rules_are_parsed_as_make_reads_them(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("PY := x\n.PHONY: a\nsynth: install ## s\n\tcd x\nci-roles: check-env\n$(STAMPS)/python: r\n")
    assert make_targets(makefile) == {"synth", "ci-roles"}
