"""The pipeline's invariants as policy: `invariants.py` states them once, on
a plain pipeline definition; `checkov_pipeline.py` runs them as custom
checkov checks (`make scan`, over the synthesized JSON). checkov loads every
module here, which is why this package has an `__init__.py`."""
