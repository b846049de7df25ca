"""The rehearsal's moto server: `python -m moto.server`, with moto's
CodePipeline answering timestamps the way AWS does.

CodePipeline speaks the AWS JSON 1.1 protocol, whose timestamps are epoch
seconds (botocore's model: `"timestampFormat"` unset, JSON protocol default
`unixTimestamp`). moto writes ISO-8601 strings, which the AWS SDK for Go in
the provider cannot decode, so no pipeline could be read back. The patch is
confined to moto's CodePipeline module and to this server process; the tests'
in-process moto is untouched.

The account it serves is MOTO_ACCOUNT_ID in its environment (moto's default,
123456789012, without it): tools/rehearse.MotoServer(account=...) sets it to
the rehearsed environment's account.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime


def _epoch_seconds(moment: datetime) -> float:
    # moto's utcnow() is naive UTC; a naive timestamp() would read it as local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def patch_codepipeline_timestamps() -> None:
    from moto.codepipeline import models

    models.iso_8601_datetime_with_milliseconds = _epoch_seconds


def main(argv: list[str] | None = None) -> None:
    patch_codepipeline_timestamps()
    from moto.server import main as serve

    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
