"""Plan review: everything the GitHub workflows run (.github/workflows/).

    python3 -m review.affected          which environments a pull request plans
    python3 -m review.plan_summary      the pull-request comment, with each plan's fingerprint
    python3 -m review.plan_binding      apply only the reviewed plan
    python3 -m review.policies.plan     the pipeline's invariants on a plan (blocking)
    python3 -m review.drift_report      the nightly drift issue

The workflows run these on the runner's own `python3`, from the checkout's
root, with nothing installed: so this package imports only `topology` and
the standard library. tests/test_architecture.py holds that rule, and
tests/test_review_package.py runs each workflow's command line on a bare
interpreter (`-S`: no site-packages) to prove it.
"""
