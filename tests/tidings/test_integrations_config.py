"""`.gitlab/integrations.yml`: each kind's settings, and custom mappings checked by `tidings validate`."""

from __future__ import annotations

from click.testing import CliRunner

from tests.runner.sources_setup import INTEGRATIONS
from tidings.cli.main import main
from tidings.content.load import load


def _validate(make_repo, integrations: str) -> tuple[int, str]:
    root = make_repo({".gitlab/integrations.yml": "integrations:\n" + integrations})
    run = CliRunner().invoke(main, ["validate", str(root)])
    return run.exit_code, run.output


def test_every_source_kind_with_its_settings_is_valid(make_repo):
    root = make_repo({".gitlab/integrations.yml": "integrations:\n" + INTEGRATIONS})
    result = load(root)
    assert result.errors == []
    kinds = {i.id: i.kind for i in result.repo.integrations}
    assert kinds == {"grafana": "grafana", "grafana-basic": "grafana", "pagerduty": "pagerduty",
                     "datadog": "datadog", "sentry": "sentry", "azure": "generic"}  # fmt: skip
    azure = next(i for i in result.repo.integrations if i.id == "azure")
    assert azure.mapping is not None and azure.mapping.fingerprint == [
        "data.essentials.alertId"
    ]  # one path, a list
    pagerduty = next(i for i in result.repo.integrations if i.id == "pagerduty")
    assert pagerduty.sync is not None and pagerduty.sync.from_ == "oncall@example.com"


def test_a_misspelt_mapping_target_gets_a_did_you_mean(make_repo):
    code, output = _validate(
        make_repo,
        "  - id: uptime\n    kind: generic\n    token_env: T\n    mapping:\n"
        "      title: monitor.name\n      servce: monitor.tags[0]\n"
        "      severity: {path: level, values: {down: critcal}}\n",
    )
    assert code == 1
    assert (
        ".gitlab/integrations.yml:7:7: error: integrations[0].mapping.servce: unknown key 'servce' "
        "(did you mean 'service'?) [unknown-key]"
    ) in output, output
    assert (
        "mapping.severity.values.down: 'critcal' is not one of: critical, high, medium, low, unknown "
        in output
    )
    assert "(did you mean 'critical'?)" in output


def test_bad_payload_paths_are_reported_where_they_are(make_repo):
    code, output = _validate(
        make_repo,
        "  - id: uptime\n    kind: generic\n    token_env: T\n    mapping:\n"
        "      title: monitor..name\n      fingerprint: [monitor.id, 'tags[first]']\n"
        "      resolved: {path: 'state[', values: [up]}\n",
    )
    assert code == 1
    lines = [line for line in output.splitlines() if "[bad-path]" in line]
    assert len(lines) == 3, output
    assert lines[0].startswith(
        ".gitlab/integrations.yml:6:14: error: integrations[0].mapping.title: 'monitor..name' is not a "
        "payload path: a key is missing before the '.' at character 9"
    )
    assert (
        "mapping.fingerprint[1]: 'tags[first]' is not a payload path: [first] at character 5 is not an index"
        in lines[1]
    )
    assert "mapping.resolved.path: 'state[' is not a payload path" in lines[2]


def test_a_mapping_needs_a_title_and_belongs_to_generic_only(make_repo):
    code, output = _validate(
        make_repo,
        "  - id: uptime\n    kind: generic\n    token_env: T\n    mapping: {description: x}\n"
        "  - id: prom\n    kind: alertmanager\n    token_env: T\n    mapping: {title: x}\n",
    )
    assert code == 1
    assert "integrations[0].mapping.title: required key 'title' is missing" in output
    assert "integrations[1]: only generic integrations take a mapping [integration-settings]" in output


def test_each_kind_takes_its_own_credentials(make_repo):
    code, output = _validate(
        make_repo,
        "  - {id: a, kind: pagerduty, secret_env: S, token_env: T}\n"
        "  - {id: b, kind: sentry}\n"
        "  - {id: c, kind: grafana, secret_env: S}\n"
        "  - {id: d, kind: datadog, token_env: T, auth: basic}\n"
        "  - {id: e, kind: grafana, token_env: T, username: grafana}\n"
        "  - {id: f, kind: sentry, secret_env: S, sync: {token_env: P, from: a@example.com}}\n"
        "  - {id: g, kind: grafana, token_env: T, auth: digest}\n",
    )
    assert code == 1
    assert (
        "integrations[0]: pagerduty signs its posts: use secret_env, not token_env, auth or username"
        in output
    )
    assert "integrations[1]: a sentry integration needs secret_env" in output
    assert "integrations[2]: a grafana integration needs token_env" in output
    assert "integrations[3]: basic authentication takes a username, and only it does" in output
    assert "integrations[4]: basic authentication takes a username, and only it does" in output
    assert "integrations[5]: only pagerduty integrations take sync" in output
    assert "integrations[6].auth: 'digest' is not one of: bearer, basic" in output


def test_the_json_schema_takes_what_the_model_takes(make_repo):
    """Editors check integrations.yml with the exported schema: one fingerprint path or a list."""
    import json

    import jsonschema
    import yaml

    from tidings.content.schema import schema_files

    schema = json.loads(schema_files()["integrations.schema.json"])
    document = yaml.safe_load("integrations:\n" + INTEGRATIONS)
    jsonschema.Draft202012Validator(schema).validate(document)
    document["integrations"][-1]["mapping"]["fingerprint"] = [
        "data.essentials.alertId",
        "data.essentials.alertRule",
    ]
    jsonschema.Draft202012Validator(schema).validate(document)
    document["integrations"][-1]["mapping"]["titel"] = "x"
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)
