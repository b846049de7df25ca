"""The pipeline's invariants (review/policies/invariants.py) as custom checkov
checks (`make scan`, over the synthesized JSON): `--external-checks-dir`
points here, so this directory holds the checkov adapter only. checkov loads
every module here, which is why this package has an `__init__.py`."""
