"""The monitoring stack's tables: the functions table (topology/functions.py),
the topics table (topology/topics.py) and the metrics-and-alarms table
(modules/metrics.py). Each is checked on its own (unit) and against what the
stack synthesizes (stacks): nothing the stack makes bypasses its table."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from environments import load
from functions.shared.contract import metrics as published
from functions.shared.contract import settings as contract_settings
from modules import lambdas, metrics
from ops.commands import logs
from topology import functions, naming
from topology.functions import FUNCTIONS, EventPattern, EveryTopic, Grant, Schedule
from topology.topics import TOPICS

REPO = Path(__file__).resolve().parent.parent


def monitoring(stacks, config):
    return stacks[naming.stack_id("monitoring", config.name)]


# --- the functions table ---------------------------------------------------
# Each row's package is one function with its handler: tests/test_function_packages.py.


def test_ids_names_and_purposes_are_unique():
    for key in ("function", "purpose"):
        values = [getattr(row, key) for row in FUNCTIONS]
        assert len(values) == len(set(values)), key
    rules = [row.trigger for row in FUNCTIONS if not isinstance(row.trigger, EveryTopic)]
    assert len({t.rule for t in rules}) == len({t.target for t in rules}) == len(rules)
    names = load("test").names
    assert len({t.name(names) for t in rules}) == len(rules)


def test_every_setting_resource_and_builder_a_row_names_has_a_value():
    for row in FUNCTIONS:
        assert set(contract_settings.BY_PACKAGE[row.package]) <= set(lambdas.SETTINGS), row.function
        for statement in row.statements:
            if isinstance(statement, Grant):
                assert set(statement.resources) <= set(lambdas.RESOURCES), row.function
            else:
                assert statement in lambdas.BUILDERS, row.function
        assert not row.log_group_in_core or row.purpose in lambdas.CORE_LOG_GROUPS


@pytest.mark.parametrize(
    "change, named",
    [
        ({"statements": (Grant(sid="S", actions=("s3:GetObject",), resources=("no_such_bucket",)),)}, "no_such_bucket"),
        ({"statements": ("no_such_builder",)}, "the statement builder 'no_such_builder'"),
    ],
)
def test_a_row_naming_an_unknown_value_fails_with_one_clear_line(change, named):
    row = dataclasses.replace(FUNCTIONS[0], **change)
    with pytest.raises(ValueError, match="topology/functions.py: function 'health_probe' names ") as raised:
        # A unit reads nothing of the wiring before it finds the unknown name.
        lambdas.statements(row, None)
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_reserved_concurrency_is_the_tables_and_preflight_reads_it():
    from ops import preflight

    assert functions.RESERVED_CONCURRENCY == {row.purpose: row.reserved_concurrency for row in FUNCTIONS}
    assert preflight.RESERVED_CONCURRENCY is functions.RESERVED_CONCURRENCY
    opted = type("Config", (), {"reserve_function_concurrency": True, "respect_freezes": True})()
    assert functions.reserved_total(opted) == sum(row.reserved_concurrency for row in FUNCTIONS)
    # A function the environment does not have reserves nothing.
    unfrozen = type("Config", (), {"reserve_function_concurrency": True, "respect_freezes": False})()
    optional = sum(row.reserved_concurrency for row in FUNCTIONS if row.only_if == "respect_freezes")
    assert optional > 0 and functions.reserved_total(unfrozen) == functions.reserved_total(opted) - optional


def test_ops_logs_reads_every_function_of_the_table():
    """`ops logs` names the functions by purpose (their log groups)."""
    assert set(logs.FUNCTIONS) == {row.purpose for row in FUNCTIONS}


@pytest.mark.parametrize(("minutes", "expression"), [(1, "rate(1 minute)"), (5, "rate(5 minutes)")])
def test_rate_expressions(minutes, expression):
    assert functions.rate_expression(minutes) == expression


def test_a_rate_below_a_minute_is_refused():
    with pytest.raises(ValueError, match="at least 1 minute"):
        functions.rate_expression(0)


def test_the_stack_makes_exactly_the_tables_functions(stacks, env_config):
    stack, names = monitoring(stacks, env_config), env_config.names
    made = stack.resources("aws_lambda_function")
    rows = [row for row in FUNCTIONS if functions.wanted(env_config, row)]
    assert set(made) == {row.function for row in rows}
    for row in rows:
        function = made[row.function]
        assert function["handler"] == f"functions.{row.package}.handler.handler"
        assert function["function_name"] == names.lambda_function(row.purpose)
        assert function["timeout"] == row.timeout
        # Every variable is a setting of the row (the window's only where there is one).
        variables = set(function["environment"]["variables"])
        optional = {contract_settings.WINDOW_CRON, contract_settings.WINDOW_TIME_ZONE}
        reads = set(contract_settings.BY_PACKAGE[row.package])
        assert reads - optional <= variables <= reads
        sids = {
            s["sid"]
            for s in stack.policy_statements(
                stack.resource("aws_iam_role_policy", f"{row.function}_role_policy")["policy"]
            )
        }
        wiring = SimpleNamespace(core=SimpleNamespace(deployments_table_arn="t"), names=names)
        own = {s.sid if isinstance(s, Grant) else lambdas.BUILDERS[s](wiring).sid for s in row.statements}
        assert own <= sids
        assert ("PublishPipelineMetrics" in sids) == row.publishes_metrics


def test_each_trigger_is_the_rule_or_subscriptions_its_row_says(stacks, env_config):
    stack, names = monitoring(stacks, env_config), env_config.names
    rules = stack.resources("aws_cloudwatch_event_rule")
    for row in FUNCTIONS:
        if not functions.wanted(env_config, row):
            assert row.function not in stack.resources("aws_lambda_function")
            continue
        trigger = row.trigger
        if isinstance(trigger, EveryTopic):
            for topic in TOPICS:
                subscription = stack.resource(
                    "aws_sns_topic_subscription", f"{topic.purpose}_topic_{trigger.subscription}"
                )
                assert subscription["endpoint"] == f"${{aws_lambda_function.{row.function}.arn}}"
            continue
        rule = rules[trigger.rule]
        assert rule["name"] == trigger.name(names)
        if isinstance(trigger, Schedule):
            assert rule["schedule_expression"] == trigger.expression
        else:
            assert isinstance(trigger, EventPattern)
            assert json.loads(rule["event_pattern"]) == trigger.pattern(names)
        target = stack.resource("aws_cloudwatch_event_target", f"{trigger.target}_target")
        assert target["arn"] == f"${{aws_lambda_function.{row.function}.arn}}"


# --- the metrics-and-alarms table -------------------------------------------
def test_every_alarm_the_stack_makes_is_a_row_of_the_table(stacks, env_config):
    """The health and probe alarms included: nothing bypasses the table."""
    made = {
        a["alarm_name"]: a for a in monitoring(stacks, env_config).resources("aws_cloudwatch_metric_alarm").values()
    }
    rows = metrics.alarms(metrics.table(env_config))
    assert set(made) == {env_config.names.alarm(alarm.suffix) for _, alarm in rows}
    for row, alarm in rows:
        resource = made[env_config.names.alarm(alarm.suffix)]
        assert (resource["namespace"], resource["metric_name"], resource["statistic"]) == (
            row.namespace,
            row.name,
            row.statistic,
        )
        assert resource["dimensions"] == row.dimensions_in(env_config.name)
        assert resource["comparison_operator"] == metrics.COMPARISONS[alarm.comparison]
        assert (resource["evaluation_periods"], resource["treat_missing_data"]) == (
            alarm.evaluation_periods,
            alarm.treat_missing_data,
        )
        assert resource["alarm_actions"] == [f"${{aws_sns_topic.{alarm.topic}_topic.arn}}"]


def test_the_project_metrics_are_the_publishers_contract():
    """Name, statistic and dimensions of every KiroPipeline row come from
    functions/shared/contract/metrics.py."""
    for row in metrics.table(load("test")):
        if row.namespace == naming.METRICS_NAMESPACE:
            contract = published.BY_NAME[row.name]
            assert row.statistic == contract.statistic
            assert tuple(row.dimensions_in("test")) == contract.dimensions


def test_a_row_with_other_dimensions_than_the_contracts_is_refused():
    with pytest.raises(ValueError, match="HealthCheckStatus is published with dimensions"):
        metrics.ours(published.HEALTH_CHECK_STATUS, None)


def test_every_alarm_notifies_a_topic_whose_policy_lets_cloudwatch_publish(stacks, env_config):
    stack = monitoring(stacks, env_config)
    allowing = set()
    for topic in TOPICS:
        policy = stack.resource("aws_sns_topic_policy", f"{topic.purpose}_topic_policy")
        if any(s.get("sid") == "AllowThisEnvironmentsAlarms" for s in stack.policy_statements(policy["policy"])):
            allowing.add(topic.purpose)
    assert allowing == metrics.alarm_topics(metrics.table(env_config))
    assert metrics.alarm_topics(metrics.table(env_config)) <= {t.purpose for t in TOPICS}


# --- the topics table ------------------------------------------------------
def test_each_topic_with_events_has_its_notification_rule(stacks, env_config):
    rules = {
        r["name"]: r
        for r in monitoring(stacks, env_config).resources("aws_codestarnotifications_notification_rule").values()
    }
    expected = {env_config.names.notification_rule(t.purpose): t for t in TOPICS if t.notification_events}
    assert set(rules) == set(expected)
    for name, topic in expected.items():
        assert rules[name]["event_type_ids"] == list(topic.notification_events)


# --- the shape the tables keep ------------------------------------------------
# modules/pipeline.py is over the limit today (issue 23 item 3 names it; its split is another change).
OVER_400_TODAY = {"pipeline.py"}


def test_the_monitoring_stack_composes_in_200_lines_and_no_module_file_is_over_400():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (REPO / "modules").glob("*.py")}
    assert sizes["monitoring.py"] <= 200
    assert {name: n for name, n in sizes.items() if n > 400 and name not in OVER_400_TODAY} == {}


def makers(source: str) -> set[str]:
    """What a module's code makes that only a table may: function units
    (`PythonFunction(...)`) and alarms (`<factory>.alarm(...)`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "PythonFunction":
                found.add("PythonFunction")
            # The factory's `alarm(suffix, description=...)`, not the names' `alarm(suffix)`.
            described = any(k.arg == "description" for k in node.keywords)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "alarm" and described:
                found.add("alarm")
    return found


def test_functions_and_alarms_are_made_only_from_their_tables():
    """A function is made only by modules/lambdas.py (from topology/functions.py),
    an alarm only by the monitoring stack's loop over modules/metrics.py."""
    allowed = {"lambdas.py": {"PythonFunction"}, "monitoring.py": {"alarm"}}
    made = {p.name: makers(p.read_text()) for p in (REPO / "modules").glob("*.py")}
    assert {name: kinds for name, kinds in made.items() if kinds - allowed.get(name, set())} == {}
    # The check can fail: a hand-made alarm beside the table.
    assert makers("self.alarms.alarm('extra', description='d')") == {"alarm"}


def test_a_setting_the_stack_has_no_value_for_fails_with_one_clear_line(monkeypatch):
    reads = {**contract_settings.BY_PACKAGE, "health_probe": ("TARGETS", "NO_SUCH_SETTING")}
    monkeypatch.setattr(contract_settings, "BY_PACKAGE", reads)
    with pytest.raises(ValueError) as raised:
        # Nothing of the wiring is read before the unknown name is found.
        lambdas.environment(FUNCTIONS[0], None)
    assert str(raised.value) == (
        "functions/shared/contract/settings.py: package 'health_probe' reads the setting 'NO_SUCH_SETTING', "
        "which modules/lambdas.py gives no value: add it to SETTINGS there"
    )


def test_a_function_whose_package_has_no_settings_in_the_contract_is_a_clear_error():
    import dataclasses

    import pytest

    row = dataclasses.replace(FUNCTIONS[0], function="no_such_function", package="no_such_package")
    with pytest.raises(ValueError, match="runs package 'no_such_package', which functions/shared/contract/settings.py"):
        lambdas.environment(row, None)
