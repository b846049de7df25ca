"""The Lambda functions' code: one package per function, and shared/.

A regular package, so the code has one import name everywhere:
`functions.shared.*` and `functions.<package>.*` in the zips (which hold this
file; functions/package.py), in ops and in the tests. Lambda imports the
handler `functions.<package>.handler.handler` from the zip's root.
"""
