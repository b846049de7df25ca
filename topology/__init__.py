"""Names and topology: the one home of every physical name, the pipeline's
stages and CodeBuild projects, and the shared constants.

A leaf package: pure Python, no cdktf, no boto3. Of this repository it
imports two leaf modules of the functions' contract, the stage and action
names and the record's attribute names (functions/shared/contract/stages.py,
records.py), whose home is there because the Lambda zips carry functions/
alone (tests/test_architecture.py). environments,
modules (the stacks), ops, tools, review and the tests all read it.
"""
