"""What crosses a boundary, in one home: the deployment record's attributes
and kinds (records.py), the metrics the functions publish (metrics.py) and
each function's settings (settings.py).

It imports only the standard library and shared/stages.py (relatively), so it works inside
every Lambda zip (as `shared.contract`) and from the rest of the repository
(as `functions.shared.contract`). tests/test_contract.py holds the product
code under functions/ and ops/ to these names: no other file writes one of
them as a string literal.
"""
