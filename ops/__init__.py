"""Operations tools for kiro-pipeline (boto3; never imports cdktf).

The functions' decision logic (functions/rollback/logic.py: which execution a
rollback targets) is the same code here, imported as `functions.rollback`,
the name it has in the Lambda zip, so `ops rollback` and the rollback
function can never choose differently.
"""
