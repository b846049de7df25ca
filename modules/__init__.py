"""CDKTF constructs for kiro-pipeline, one module per stack concern.

This package's __init__ imports nothing, so that pure helpers such as
`modules.naming` can be used by the operations tools and the tests without
paying for (or depending on) cdktf.
"""
