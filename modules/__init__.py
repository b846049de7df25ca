"""CDKTF constructs for kiro-pipeline, one module per stack concern.

Names and topology live in the pure `topology` package, which the operations
tools and the tests use without paying for (or depending on) cdktf.
"""
