"""Operations tools for kiro-pipeline (boto3; never imports cdktf).

The functions' decision logic (functions/rollback/logic.py: which execution a
rollback targets) is the same code here: functions/ goes on the import path,
as it is the root of the Lambda zips, so `ops rollback` and the rollback
function can never choose differently.
"""

import sys
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.append(_FUNCTIONS)
