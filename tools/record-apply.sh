#!/usr/bin/env bash
# Record an apply in the environment's ledger (the deployments table), for
# `python -m ops changes`: the pull request, the stacks applied with their
# reviewed plan fingerprints, who merged, the commit and the run, and where
# it stopped if it did. The apply workflow runs it after "Re-plan, check
# against the review, apply", whether that succeeded or not
# (.github/workflows/terraform-apply-environment.yml);
# tests/test_apply_record.py runs it in bash with the real AWS CLI v1 against moto.
#
# Environment: ENVIRONMENT, PULL_REQUEST, MERGED_BY, APPLY_OUTCOME (the
# apply step's outcome: success, failure or cancelled), and GitHub's own
# GITHUB_SHA, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID,
# GITHUB_RUN_ATTEMPT. Reads reviewed/reviewed.json and what the apply step
# left in plans/: applied (the stacks applied, one a line), applying (the
# stack whose apply failed partway) and stopped (where and why it stopped).
# Nothing applied and no apply begun: nothing changed, nothing recorded.
#
# The put never overwrites: "To prevent a new item from replacing an
# existing item, use a conditional expression that contains the
# attribute_not_exists function with the name of the attribute being used as
# the partition key for the table."
# (https://docs.aws.amazon.com/cli/latest/reference/dynamodb/put-item.html)
# A record that already exists (the same run and attempt, replayed) is left
# as it is, and the step succeeds. Any other failure to record is a warning
# on the run: the apply is done and stays done, and the job does not fail
# for its record (as `ops` reconcilers do, ops/ledger_runs.py).
set -uo pipefail

if [ ! -s plans/applied ] && [ ! -s plans/applying ]; then
  echo "no stack was applied: nothing to record"
  exit 0
fi

run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-unknown}/actions/runs/${GITHUB_RUN_ID:-0}"
if ! table=$(python3 -m tools.apply_record --environment "$ENVIRONMENT" \
    --reviewed reviewed/reviewed.json --applied plans/applied --applying plans/applying --stopped plans/stopped \
    --outcome "${APPLY_OUTCOME:-success}" \
    --pull-request "$PULL_REQUEST" --merged-by "${MERGED_BY:-}" --commit "${GITHUB_SHA:-unknown}" \
    --run-url "$run_url" --run-id "${GITHUB_RUN_ID:-0}" --attempt "${GITHUB_RUN_ATTEMPT:-1}" --out-dir plans); then
  echo "::warning::the apply is done, but its record could not be made (see above): not recorded in the ledger"
  exit 0
fi

if aws dynamodb put-item --table-name "$table" --item file://plans/apply-record.json \
    --condition-expression "attribute_not_exists(#key)" \
    --expression-attribute-names file://plans/apply-record-key.json 2> plans/apply-record.err; then
  echo "recorded the apply of pull request #$PULL_REQUEST in $table"
elif grep -q ConditionalCheckFailedException plans/apply-record.err; then
  echo "::notice::this apply (pull request #$PULL_REQUEST, run ${GITHUB_RUN_ID:-0} attempt ${GITHUB_RUN_ATTEMPT:-1}) is already recorded in $table: left as it was"
else
  echo "::warning::the apply is done, but PutItem on $table failed: $(head -c 500 plans/apply-record.err)"
fi
exit 0
