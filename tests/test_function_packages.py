"""The zip builder (functions/package.py) and the function packages it
builds: it finds every package by itself, each zip holds functions/ with the
function's own package and shared/ only, and each handler loads under the
one name Lambda uses. The rules of the packages themselves (one function per
package, one import name) are stated in tests/test_architecture.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from functions import package
from tests.support.architecture import FUNCTIONS_ROOT as ROOT
from tests.support.architecture import SHARED
from topology.functions import FUNCTIONS


def test_the_zip_builder_builds_exactly_the_tables_packages():
    """Adding a function needs no edit to package.py: it finds the folder."""
    assert set(package.FUNCTIONS) == {row.package for row in FUNCTIONS}
    assert package.discover(ROOT) == package.FUNCTIONS


def test_shared_code_loads_under_one_name_in_each_zip(tmp_path):
    """A function's zip holds no other function's package: only its own and shared/."""
    for row in FUNCTIONS:
        with zipfile.ZipFile(package.build(row.package, tmp_path)) as archive:
            tops = {name.split("/")[0] for name in archive.namelist()}
        assert tops == {"functions"}, row.function
        packages = {name.split("/")[1] for name in archive.namelist() if name.count("/") > 1}
        assert packages == {row.package, SHARED}, row.function


def test_each_handler_module_loads_under_one_name():
    """Lambda runs `functions.<package>.handler.handler`: the module loads
    from the zip's root exactly as the tests and ops load it from the
    repository root (that nothing loads under a second name is a rule of
    tests/test_architecture.py)."""
    import importlib

    for row in FUNCTIONS:
        module = importlib.import_module(f"functions.{row.package}.handler")
        assert callable(module.handler)
        assert Path(module.__file__).resolve() == ROOT / row.package / "handler.py"
