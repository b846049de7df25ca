"""Build dist/<function>.zip for every function, byte-for-byte reproducibly.

    python functions/package.py [--dist DIR]

A function is a folder of functions/ with a handler.py (one package per
function; topology/functions.py's rows name them, and
tests/test_architecture.py holds the two to each other), so adding a
function adds its zip with no edit here.

Each zip holds `functions/__init__.py`, the function's package and `shared/`
under `functions/`, as in this repository, so the code has one import name
(`functions.shared`, `functions.<package>`) in Lambda, the tests and ops
alike. Python sources only
(no __pycache__), with sorted entries, a fixed timestamp and fixed
permissions, so the same sources always give the same bytes and the same
source-code hash: Terraform then updates a function only when its code changed.
Each zip is written to a temporary file and renamed, so a failed build never
leaves a half-written zip behind.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED = "shared"
ENTRY = "handler.py"


def discover(root: Path) -> tuple[str, ...]:
    """Every function package under `root`: a folder with handler.py, shared/ excepted."""
    return tuple(sorted(p.parent.name for p in root.glob(f"*/{ENTRY}") if p.parent.name != SHARED))


FUNCTIONS = discover(ROOT)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
FILE_MODE = 0o100644


class MissingPackages(FileNotFoundError):
    def __init__(self, paths: list[Path]):
        self.paths = paths
        listed = ", ".join(str(p) for p in paths)
        super().__init__(f"Lambda package(s) {listed} missing: run `make functions` first (make synth does it for you)")


def dist_dir() -> Path:
    """Where the zips are: dist/, or KIRO_FUNCTIONS_DIST."""
    return Path(os.environ.get("KIRO_FUNCTIONS_DIST") or ROOT.parent / "dist")


def zip_path(function: str, dist: Path | None = None) -> Path:
    return (dist or dist_dir()) / f"{function}.zip"


def require_packages(dist: Path | None = None) -> None:
    missing = [zip_path(f, dist) for f in FUNCTIONS if not zip_path(f, dist).is_file()]
    if missing:
        raise MissingPackages(missing)


def sources(function: str) -> list[Path]:
    files = [ROOT / "__init__.py"]
    for package in (SHARED, function):
        for path in (ROOT / package).rglob("*.py"):
            if "__pycache__" not in path.parts:
                files.append(path)
    return sorted(files, key=lambda p: p.relative_to(ROOT.parent).as_posix())


def build(function: str, dist: Path) -> Path:
    if function not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}: expected one of {', '.join(FUNCTIONS)}")
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{function}.zip"
    fd, temporary = tempfile.mkstemp(dir=dist, prefix=f".{function}.", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for path in sources(function):
                info = zipfile.ZipInfo(path.relative_to(ROOT.parent).as_posix(), date_time=FIXED_TIME)
                info.external_attr = FILE_MODE << 16
                info.create_system = 3  # Unix, whatever machine builds it
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=9)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def source_code_hash(zip_path: Path) -> str:
    """What Terraform's `filebase64sha256` gives for the zip."""
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(dist_dir()), help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    for function in FUNCTIONS:
        path = build(function, Path(args.dist))
        print(f"{path}  {source_code_hash(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
