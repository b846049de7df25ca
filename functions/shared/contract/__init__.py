"""What crosses a boundary, in one home: the deployment record's attributes
and kinds (records.py), the metrics the functions publish (metrics.py),
each function's settings (settings.py) and the pipeline's stage and action
names (stages.py, which topology/naming.py re-exports).

It imports only the standard library and shared/stages.py (relatively), so it
works inside every Lambda zip and from the rest of the repository, under one
name, `functions.shared.contract`. tests/test_architecture.py holds the
product code under functions/ and ops/ to these names: no other file writes
one of them as a string literal.
"""
