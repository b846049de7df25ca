"""Names and topology: the one home of every physical name, the pipeline's
stages and CodeBuild projects, and the shared constants.

A leaf package: pure Python, no cdktf, no boto3, and it imports nothing of
this repository. environments, modules (the stacks), ops, tools and the tests
all read it; the Lambda functions carry their own copies of the few names
they need (they ship alone in their zips), and tests hold those equal.
"""
