"""The deploy rehearsal (`make rehearse`, `python -m tools.rehearse`; its
command line: cli.py): an environment deployed for real, with real Terraform
and the real hashicorp/aws provider, against a moto server on 127.0.0.1.

1. Start a moto server on a free loopback port, in the environment's own
   AWS account (moto's MOTO_ACCOUNT_ID), so that a team's real account id
   rehearses as the fixtures' does (server.py).
2. In the order docs/first-deployment.md gives (and preflight expects), before
   any stack: `python -m ops bootstrap ENV`, then `python -m ops
   deployer-roles ENV`, which needs none of the pipeline's roles to exist
   (ops/deployers.py). Their trust is read back and judged as preflight does
   (user_steps.py).
3. core, pipeline, monitoring in turn: `terraform init` with the synthesized
   S3 backend, `plan`, `apply`. Remote-state reads go through that backend
   (stack.py).
4. A second `terraform plan -detailed-exitcode` per stack must show nothing
   but the known emulator artifacts (`emulator.KNOWN_ARTIFACTS`).
5. One round of the health probe, then `python -m ops validate ENV` against
   the same server.

run.py holds that order, results.py what it finds, report.py its summary.
Everything the emulator cannot do is decided in one place, tools/emulator.py:
the scratch copies (`.make/rehearsal/<stack>`) get endpoint overrides and the
listed workarounds; cdktf.out/ is never changed. The server is stopped by PID
when the run ends, failed, interrupted (Ctrl-C: exit 130, one line) or not.
"""

from tools.rehearse.cli import main
from tools.rehearse.report import summary
from tools.rehearse.results import Rehearsal, RehearsalFailed, Site, StackReport
from tools.rehearse.run import SCRATCH, rehearse
from tools.rehearse.server import MotoServer, aws_environment, free_port
from tools.rehearse.stack import NO_INPUT, STACK_FILE, rehearse_stack
from tools.rehearse.user_steps import before_stacks
from tools.terraform_cli import REPO

__all__ = [
    "NO_INPUT",
    "REPO",
    "SCRATCH",
    "STACK_FILE",
    "MotoServer",
    "Rehearsal",
    "RehearsalFailed",
    "Site",
    "StackReport",
    "aws_environment",
    "before_stacks",
    "free_port",
    "main",
    "rehearse",
    "rehearse_stack",
    "summary",
]
