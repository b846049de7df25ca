"""docs/configuration-reference.md is generated from the field comments in
environments/schema.py, and never stale."""

from __future__ import annotations

import dataclasses

import pytest

from environments import load_all
from tools import config_reference


def test_the_reference_is_current():
    assert config_reference.TARGET.read_text() == config_reference.render(), "run `make docs`"


def test_every_field_of_every_class_is_in_it():
    text = config_reference.render()
    for cls in config_reference.CLASSES:
        for field in dataclasses.fields(cls):
            assert f"| `{field.name}` |" in text, (cls.__name__, field.name)


def test_the_environments_values_are_their_configurations():
    text = config_reference.render()
    (row,) = [line for line in text.splitlines() if line.startswith("| `approval_required` |")]
    assert row.endswith(" | ".join(f"`{c.approval_required!r}`" for c in load_all()) + " |")


def test_a_field_without_a_comment_is_an_error_that_names_it():
    @dataclasses.dataclass
    class Scratch:
        # Documented.
        documented: int = 1
        bare: int = 2

    with pytest.raises(config_reference.UndocumentedField, match="Scratch: no comment above bare"):
        config_reference.field_comments(Scratch)


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "reference.md"
    stale.write_text("old\n")
    monkeypatch.setattr(config_reference, "TARGET", stale)
    monkeypatch.setattr(config_reference, "REPO", tmp_path)
    assert config_reference.main(["--check"]) == 1
    assert "is stale: run `make docs`" in capsys.readouterr().err
    assert stale.read_text() == "old\n"  # check mode writes nothing
