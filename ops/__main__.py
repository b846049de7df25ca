import sys

# A Ctrl-C while the imports load (boto3 takes a moment) is one line and
# exit 130 too, like one inside a command (ops/cli.py).
try:
    from ops.cli import main

    sys.exit(main())
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
