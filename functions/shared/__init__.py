"""Helpers every kiro-pipeline function ships with (packaged into each zip)."""
