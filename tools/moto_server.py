"""The rehearsal's moto server: `python -m moto.server`, with moto's
CodePipeline answering timestamps the way AWS does
(tools/emulator.patch_codepipeline_timestamps says why; the patch is applied
in this server process only, never to the tests' in-process moto).

The account it serves is MOTO_ACCOUNT_ID in its environment (moto's default,
123456789012, without it): MotoServer(account=...) in tools/rehearse/server.py
sets it to the rehearsed environment's account.
"""

from __future__ import annotations

import sys

from tools import emulator


def main(argv: list[str] | None = None) -> None:
    emulator.patch_codepipeline_timestamps()
    from moto.server import main as serve

    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
