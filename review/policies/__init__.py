"""The pipeline's invariants as policy: `invariants.py` states them once, on
a plain pipeline definition; `controls.py` compares them before and after a
plan (the comment's "Delivery controls"); `plan.py` judges a plan (CI's
blocking check). checkov runs the same invariants through its own adapter,
tools/policies/checkov_pipeline.py (`make scan`)."""
