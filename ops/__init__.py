"""Operations tools for kiro-pipeline (boto3; never imports cdktf)."""
