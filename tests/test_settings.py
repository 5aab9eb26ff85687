"""Settings.from_env: embedded defaults, validation of every variable at once, the secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dialflow.errors import ConfigurationError
from dialflow.settings import PROJECT_ROOT, Settings

KEY = "k" * 32


def load(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"DIALFLOW_VAR_DIR": str(tmp_path / "var"), **env})


def problems(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load(tmp_path, **env)
    assert caught.value.code == "configuration_error"
    return caught.value.message


def test_defaults_are_the_embedded_mode(tmp_path):
    settings = load(tmp_path, SECRET_KEY=KEY)
    assert settings.database_url == f"sqlite:///{(tmp_path / 'var' / 'dialflow.db').as_posix()}"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.embedded is True
    assert settings.environment == "development"
    assert settings.log_level == "INFO"
    assert settings.database_schema is None
    assert settings.default_region == "CN"
    assert settings.default_timezone == "Asia/Shanghai"
    assert settings.var_dir == tmp_path / "var"


def test_var_dir_defaults_to_var_in_the_project(tmp_path):
    settings = Settings.from_env({"SECRET_KEY": KEY})
    assert settings.var_dir == PROJECT_ROOT / "var"
    assert settings.database_url == f"sqlite:///{(PROJECT_ROOT / 'var' / 'dialflow.db').as_posix()}"


def test_from_env_reads_os_environ_when_no_mapping_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALFLOW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", KEY)
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings.from_env()
    assert settings.log_level == "DEBUG"
    assert settings.var_dir == tmp_path


def test_redis_url_turns_off_embedded_mode(tmp_path):
    settings = load(tmp_path, SECRET_KEY=KEY, REDIS_URL="redis://127.0.0.1:6379/0")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.embedded is False


def test_blank_redis_url_means_embedded(tmp_path):
    assert load(tmp_path, SECRET_KEY=KEY, REDIS_URL="  ").embedded is True


def test_values_are_normalized(tmp_path):
    settings = load(
        tmp_path,
        SECRET_KEY=KEY,
        LOG_LEVEL=" warning ",
        DIALFLOW_ENV="TEST",
        DIALFLOW_DEFAULT_REGION="hk",
        DIALFLOW_DEFAULT_TIMEZONE="Asia/Hong_Kong",
        DATABASE_SCHEMA="tenant_1",
    )
    assert settings.log_level == "WARNING"
    assert settings.environment == "test"
    assert settings.default_region == "HK"
    assert settings.default_timezone == "Asia/Hong_Kong"
    assert settings.database_schema == "tenant_1"


def test_overrides_win_over_the_environment(tmp_path):
    env = {"DIALFLOW_VAR_DIR": str(tmp_path), "SECRET_KEY": KEY, "LOG_LEVEL": "INFO"}
    assert Settings.from_env(env, log_level="ERROR").log_level == "ERROR"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "postgresql://dial:pw@db.internal:5432/crm",
            "postgresql+psycopg://dial:pw@db.internal:5432/crm",
        ),
        ("postgresql+psycopg://dial@localhost/crm", "postgresql+psycopg://dial@localhost/crm"),
        ("sqlite:////srv/dialflow/crm.db", "sqlite:////srv/dialflow/crm.db"),
    ],
)
def test_database_urls(tmp_path, raw, expected):
    settings = load(tmp_path, SECRET_KEY=KEY, DATABASE_URL=raw)
    assert settings.database_url == expected
    assert settings.is_sqlite is raw.startswith("sqlite")


def test_postgres_scheme_is_upgraded_like_postgresql(tmp_path):
    settings = load(tmp_path, SECRET_KEY=KEY, DATABASE_URL="postgres://dial:pw@db/crm")
    assert settings.database_url == "postgresql+psycopg://dial:pw@db/crm"


def test_every_bad_setting_is_reported_in_one_error(tmp_path):
    message = problems(
        tmp_path,
        SECRET_KEY=KEY,
        LOG_LEVEL="LOUD",
        DATABASE_URL="mysql://root@localhost/crm",
        REDIS_URL="http://localhost:6379",
        DIALFLOW_DEFAULT_TIMEZONE="Mars/Olympus_Mons",
        DIALFLOW_DEFAULT_REGION="XX",
        DIALFLOW_ENV="staging",
        DATABASE_SCHEMA="bad-schema; drop",
    )
    for name in (
        "LOG_LEVEL",
        "DATABASE_URL",
        "REDIS_URL",
        "DIALFLOW_DEFAULT_TIMEZONE",
        "DIALFLOW_DEFAULT_REGION",
        "DIALFLOW_ENV",
        "DATABASE_SCHEMA",
    ):
        assert name in message, name
    assert "LOUD" in message
    assert "mysql" in message
    assert "Mars/Olympus_Mons" in message
    assert len([line for line in message.splitlines() if line.strip().startswith("-")]) == 7


@pytest.mark.parametrize("raw", ["not a url", "://nothing", "postgresql//missing-colon"])
def test_unparseable_database_url_is_reported(tmp_path, raw):
    assert "DATABASE_URL" in problems(tmp_path, SECRET_KEY=KEY, DATABASE_URL=raw)


@pytest.mark.parametrize(
    "redis_url", ["redis://h:6379/0", "rediss://h:6380/1", "unix:///run/r.sock"]
)
def test_redis_url_schemes_accepted(tmp_path, redis_url):
    assert load(tmp_path, SECRET_KEY=KEY, REDIS_URL=redis_url).redis_url == redis_url


def test_production_without_secret_key_is_refused(tmp_path):
    message = problems(tmp_path, DIALFLOW_ENV="production")
    assert "SECRET_KEY" in message
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_with_secret_key_is_accepted(tmp_path):
    settings = load(tmp_path, DIALFLOW_ENV="production", SECRET_KEY=KEY)
    assert settings.secret_key == KEY
    assert settings.environment == "production"


def test_short_secret_key_is_refused(tmp_path):
    assert "SECRET_KEY" in problems(tmp_path, SECRET_KEY="short")


def test_secret_key_is_generated_once_and_reused(tmp_path):
    first = load(tmp_path)
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.is_file()
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = load(tmp_path)
    assert second.secret_key == first.secret_key


def test_generated_secret_keys_differ_between_installations(tmp_path):
    one = Settings.from_env({"DIALFLOW_VAR_DIR": str(tmp_path / "one")})
    two = Settings.from_env({"DIALFLOW_VAR_DIR": str(tmp_path / "two")})
    assert one.secret_key != two.secret_key


def test_explicit_secret_key_writes_no_file(tmp_path):
    assert load(tmp_path, SECRET_KEY=KEY).secret_key == KEY
    assert not (tmp_path / "var" / "secret_key").exists()


def test_webhook_settings_default_to_no_internal_targets(tmp_path):
    settings = load(tmp_path, SECRET_KEY=KEY)
    assert settings.webhook_attempt_seconds == 10
    assert settings.webhook_retention_days == 30
    assert settings.webhook_allowed_networks == () and settings.webhook_allowed_hosts == ()


def test_webhook_settings_are_read_and_the_allowance_parsed(tmp_path):
    settings = load(
        tmp_path,
        SECRET_KEY=KEY,
        DIALFLOW_WEBHOOK_ATTEMPT_SECONDS="4",
        DIALFLOW_WEBHOOK_RETENTION_DAYS="0",
        DIALFLOW_WEBHOOK_ALLOWED_TARGETS=(
            "10.20.0.0/16, 192.168.1.7 fd00::/8,ERP.corp.lan. *.hooks.lan"
        ),
    )
    assert settings.webhook_attempt_seconds == 4 and settings.webhook_retention_days == 0
    assert [str(n) for n in settings.webhook_allowed_networks] == [
        "10.20.0.0/16",
        "192.168.1.7/32",
        "fd00::/8",
    ]
    assert settings.webhook_allowed_hosts == ("erp.corp.lan", "*.hooks.lan")


def test_bad_webhook_settings_are_reported_together(tmp_path):
    with pytest.raises(ConfigurationError) as raised:
        load(
            tmp_path,
            SECRET_KEY=KEY,
            DIALFLOW_WEBHOOK_ATTEMPT_SECONDS="60",  # past half the 60 s claim lease
            DIALFLOW_WEBHOOK_RETENTION_DAYS="３０",  # full-width digits
            DIALFLOW_WEBHOOK_ALLOWED_TARGETS="10.0.0.0/33 bad!host 1.2.3",
        )
    text = str(raised.value)
    assert "DIALFLOW_WEBHOOK_ATTEMPT_SECONDS must be a whole number of seconds from 1 to 30" in text
    assert "DIALFLOW_WEBHOOK_RETENTION_DAYS must be a whole number of days" in text
    for entry in ("'10.0.0.0/33'", "'bad!host'", "'1.2.3'"):
        assert f"DIALFLOW_WEBHOOK_ALLOWED_TARGETS: {entry} is neither" in text


@pytest.fixture
def spiff_levels():
    import logging

    from dialflow.settings import SPIFF_LOGGERS

    levels = {name: logging.getLogger(name).level for name in SPIFF_LOGGERS}
    for name in SPIFF_LOGGERS:  # as SpiffWorkflow leaves them (an app may have set them)
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("log_level", ["DEBUG", "INFO"])
def test_logging_spares_spiffworkflow_its_debug_details(tmp_path, spiff_levels, log_level):
    """SpiffWorkflow decides by its own loggers' ``level`` whether every log record carries
    the task's data and the ids of all tasks: an unset level counts as below INFO."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

    diagram = PROJECT_ROOT / "bench" / "diagrams" / "bench_call.bpmn"
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(diagram))
    workflow = BpmnWorkflow(parser.get_spec("bench_call"))
    task = workflow.task_tree
    assert "tasks" in workflow.collect_log_extras()  # SpiffWorkflow's loggers left unset
    assert "data" in task.collect_log_extras()

    load(tmp_path, SECRET_KEY=KEY, LOG_LEVEL=log_level).configure_logging()

    assert "tasks" not in workflow.collect_log_extras()
    assert "data" not in task.collect_log_extras()


def test_the_script_time_limit_defaults_to_ten_seconds_and_is_checked(tmp_path):
    assert load(tmp_path, SECRET_KEY=KEY).script_time_limit == 10
    assert load(tmp_path, SECRET_KEY=KEY, DIALFLOW_SCRIPT_TIME_LIMIT=" 2 ").script_time_limit == 2
    for bad in ("0", "1.5", "ten", "3601"):
        said = problems(tmp_path, SECRET_KEY=KEY, DIALFLOW_SCRIPT_TIME_LIMIT=bad)
        assert (
            f"DIALFLOW_SCRIPT_TIME_LIMIT must be a whole number of seconds from 1 to 3600, "
            f"not {bad!r}"
        ) in said
