"""Kafka security settings without a broker: URL and YAML parsing, validation, secrets that never print, codecs.

What the bundled Tansu broker cannot do (SASL, TLS listeners) is tested here at the configuration level: the
settings reach kafka-python's keyword arguments exactly, and every mistake is one line naming the setting.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka import config as config_module
from storywire.connectors.kafka.config import KafkaConfig, KafkaSecurity, Secret, redact_url
from storywire.connectors.kafka.errors import BrokerUnreachableError, KafkaConfigError
from storywire.connectors.kafka.security import unreachable_hint
from storywire.pipelines.cli.topics import config_from_bootstrap, create_command
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.config.sinks import SinkSpec

PASSWORD = "hunter2-Sup3rSecret"
KEY_PASSWORD = "k3y-Pa55phrase"
ENV = {"KAFKA_PASSWORD": PASSWORD, "KEY_PASSWORD": KEY_PASSWORD}
CONFIG = 'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\n'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA, a client certificate with its key (plain and encrypted) and a few wrong files, as paths."""
    root = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    client = ca.issue_cert("storywire-client")
    other = trustme.CA().issue_cert("someone-else")
    paths = {name: root / f"{name}.pem" for name in ("ca", "cert", "key", "key_encrypted", "other_key", "junk")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    other.private_key_pem.write_to_path(str(paths["other_key"]))
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
    paths["key_encrypted"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    paths["junk"].write_text("not a certificate\n")
    password_file = root / "kafka-password"
    password_file.write_text(PASSWORD + "\n")  # as `kubectl create secret` and Docker write them
    return {**{name: str(path) for name, path in paths.items()}, "password_file": str(password_file)}


def _assert_hidden(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and KEY_PASSWORD not in text, text


# --- from a URL -------------------------------------------------------------------------------------------------


def test_sasl_ssl_scram_from_a_url_reaches_kafka_python(pki: dict[str, str]) -> None:
    config = KafkaConfig.from_url(
        "kafka+ssl://b1:9093,b2:9093?sasl_mechanism=scram-sha-512&sasl_username=svc"
        f"&sasl_password_env=KAFKA_PASSWORD&ssl_cafile={pki['ca']}&compression=lz4",
        environ=ENV,
    )

    kwargs = config.producer_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "svc"
    assert kwargs["sasl_plain_password"] == PASSWORD
    assert kwargs["ssl_cafile"] == pki["ca"]
    assert kwargs["ssl_check_hostname"] is True
    assert kwargs["compression_type"] == "lz4"
    shown = config.describe()
    assert shown["sasl_password"] == "*** (from environment variable KAFKA_PASSWORD)"
    assert shown["security_protocol"] == "SASL_SSL"
    _assert_hidden(str(config), repr(config), repr(config.security), str(shown), f"{config.security.sasl_password}")


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=KAFKA_PASSWORD", "SASL_SSL"),
        (
            "kafka://b:9092?security_protocol=SASL_PLAINTEXT&sasl_mechanism=PLAIN&sasl_username=u"
            "&sasl_password_env=KAFKA_PASSWORD",
            "SASL_PLAINTEXT",
        ),
        ("kafka://b:9092?ssl_cafile=/etc/ssl/certs/ca-certificates.crt", "SSL"),
        ("kafka+ssl://b:9093?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=KAFKA_PASSWORD", "SASL_SSL"),
        ("kafka+ssl://b:9093", "SSL"),
        ("kafka://b:9092?security_protocol=ssl", "SSL"),
        ("kafka://b:9092", "PLAINTEXT"),
    ],
)
def test_the_protocol_follows_the_scheme_and_the_mechanism(url: str, protocol: str) -> None:
    assert KafkaConfig.from_url(url, environ=ENV).security.security_protocol == protocol


def test_password_from_a_file_drops_the_trailing_newline(pki: dict[str, str]) -> None:
    url = f"kafka+ssl://b:9093?sasl_mechanism=SCRAM-SHA-256&sasl_username=u&sasl_password_file={pki['password_file']}"
    security = KafkaConfig.from_url(url).security

    assert security.sasl_password == Secret(PASSWORD)
    assert security.client_kwargs()["sasl_plain_password"] == PASSWORD
    assert security.describe()["sasl_password"] == f"*** (from file {pki['password_file']})"


def test_mutual_tls_with_an_encrypted_key(pki: dict[str, str]) -> None:
    url = (
        f"kafka+ssl://b:9093?ssl_cafile={pki['ca']}&ssl_certfile={pki['cert']}"
        f"&ssl_keyfile={pki['key_encrypted']}&ssl_password_env=KEY_PASSWORD&ssl_check_hostname=false"
    )
    config = KafkaConfig.from_url(url, environ=ENV)

    kwargs = config.client_kwargs()
    assert kwargs["security_protocol"] == "SSL"
    assert (kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == (pki["cert"], pki["key_encrypted"])
    assert kwargs["ssl_password"] == KEY_PASSWORD
    assert kwargs["ssl_check_hostname"] is False
    assert "sasl_mechanism" not in kwargs
    _assert_hidden(repr(config), str(config.describe()))


def test_url_settings_go_on_top_of_the_yaml_section_key_by_key(pki: dict[str, str]) -> None:
    base = KafkaSecurity.from_settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password_env="KAFKA_PASSWORD",
        ssl_cafile=pki["ca"],
        environ=ENV,
    )
    plain_url = KafkaConfig.from_url("kafka://b:9093", security=base).security
    other_user = KafkaConfig.from_url("kafka://b:9093?sasl_username=reader", security=base).security

    assert plain_url == base  # kafka:// means "as the settings say", not "downgrade to PLAINTEXT"
    assert other_user.sasl_username == "reader"
    assert other_user.security_protocol == "SASL_SSL" and other_user.sasl_password == base.sasl_password


def test_an_unnamed_protocol_is_derived_and_never_sends_credentials_in_clear(pki: dict[str, str]) -> None:
    section = KafkaSecurity.from_settings(
        sasl_mechanism="PLAIN", sasl_username="u", sasl_password_env="KAFKA_PASSWORD", environ=ENV
    )
    tls_only = KafkaSecurity.from_settings(ssl_cafile=pki["ca"])
    named = KafkaSecurity(
        security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="x"
    )

    assert section.security_protocol == "SASL_SSL"
    assert tls_only.security_protocol == "SSL"
    assert KafkaSecurity().security_protocol == "PLAINTEXT"
    assert KafkaConfig.from_url("kafka://b:9092", security=section).security == section
    assert KafkaConfig.from_url("kafka+ssl://b:9093", security=named).security.security_protocol == "SASL_SSL"
    assert KafkaConfig.from_url("kafka://b:9092", security=named).security.security_protocol == "SASL_PLAINTEXT"
    plain_base = KafkaConfig.from_url(f"kafka://b:9092?ssl_cafile={pki['ca']}", security=KafkaSecurity())
    assert plain_base.security.security_protocol == "SSL"
    assert pickle.loads(pickle.dumps(section)).with_url_settings({}, tls=False) == section


def test_kafka_kwargs_are_accepted_by_every_kafka_python_client(pki: dict[str, str]) -> None:
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password=PASSWORD,
        ssl_cafile=pki["ca"],
        ssl_certfile=pki["cert"],
        ssl_keyfile=pki["key"],
    )
    config = KafkaConfig("b:9093", security=security)

    assert set(config.producer_kwargs()) <= set(KafkaProducer.DEFAULT_CONFIG)
    assert set(config.client_kwargs()) <= set(KafkaConsumer.DEFAULT_CONFIG)
    assert set(config.client_kwargs()) <= set(KafkaAdminClient.DEFAULT_CONFIG)


def test_secrets_survive_pickling_and_compare_by_value() -> None:
    security = KafkaSecurity(
        security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="u", sasl_password=PASSWORD
    )
    config = KafkaConfig("b:9093", security=security)

    copy = pickle.loads(pickle.dumps(config))
    assert copy == config and hash(copy) == hash(config)
    assert copy.client_kwargs()["sasl_plain_password"] == PASSWORD
    assert Secret("a") != Secret("b")
    assert f"{Secret(PASSWORD):>5}" == "  ***"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password={PASSWORD}", "never written in a URL"),
        (f"kafka+ssl://b:9093?ssl_password={PASSWORD}", "ssl_password_env=VARIABLE"),
        (f"kafka://u:{PASSWORD}@b:9092", "credentials are not accepted"),
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=NOT_SET", "NOT_SET is not set"),
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=EMPTY", "EMPTY is empty"),
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_file=/nonexistent/pw", "does not exist"),
        (
            "kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=KAFKA_PASSWORD"
            "&sasl_password_file=/x",
            "are both given",
        ),
        ("kafka://b:9092?sasl_mechanism=GSSAPI&sasl_username=u&sasl_password_env=KAFKA_PASSWORD", "sasl_mechanism"),
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_password_env=KAFKA_PASSWORD", "sasl_username: "),
        ("kafka://b:9092?sasl_mechanism=PLAIN&sasl_username=u", "needs a password"),
        ("kafka://b:9092?security_protocol=SASL_SSL", "sasl_mechanism: security_protocol SASL_SSL needs"),
        ("kafka://b:9092?sasl_username=u", "sasl_username: is set but security_protocol is PLAINTEXT"),
        (
            "kafka://b:9092?security_protocol=PLAINTEXT&ssl_cafile=/etc/ssl/certs/ca-certificates.crt",
            "ssl_cafile: is set but security_protocol is PLAINTEXT, which does not use TLS",
        ),
        (
            "kafka://b:9092?security_protocol=SSL&sasl_mechanism=PLAIN&sasl_username=u&sasl_password_env=KAFKA_PASSWORD",
            "sasl_mechanism: is set but security_protocol is SSL, which does not authenticate",
        ),
        ("kafka+ssl://b:9093?security_protocol=PLAINTEXT", "contradicts the kafka+ssl"),
        ("kafka+ssl://b:9093?ssl_check_hostname=maybe", "ssl_check_hostname: expected true or false"),
        ("kafka+ssl://b:9093?ssl_cafile=/nonexistent/ca.pem", "ssl_cafile: file /nonexistent/ca.pem does not exist"),
        ("kafka+ssl://b:9093?ssl_cafile=/tmp", "is not a file"),
        ("kafka://b:9092?security_protocol=TLS", "security_protocol: 'TLS' is not one of"),
        ("kafka://b:9092?sasl_plain_password=x", "never written in a URL"),
    ],
)
def test_url_mistakes_are_one_line_naming_the_setting_and_never_the_password(url: str, message: str) -> None:
    with pytest.raises(KafkaConfigError) as caught:
        KafkaConfig.from_url(url, environ={**ENV, "EMPTY": ""})

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    _assert_hidden(str(caught.value), repr(caught.value))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"ssl_cafile": "junk"}, "ssl_cafile: "),
        ({"ssl_certfile": "cert", "ssl_keyfile": "other_key"}, "cannot load the client certificate"),
        ({"ssl_certfile": "cert", "ssl_keyfile": "key_encrypted"}, "an encrypted key needs ssl_password"),
        ({"ssl_certfile": "junk", "ssl_keyfile": "key"}, "ssl_certfile: cannot load"),
        ({"ssl_keyfile": "key"}, "ssl_keyfile: is set without ssl_certfile"),
    ],
)
def test_tls_files_are_checked_when_the_settings_are_built(
    pki: dict[str, str], files: dict[str, str], message: str
) -> None:
    with pytest.raises(KafkaConfigError, match=message):
        KafkaSecurity(security_protocol="SSL", **{name: pki[file] for name, file in files.items()})


def test_a_wrong_key_password_is_refused_without_showing_it(pki: dict[str, str]) -> None:
    with pytest.raises(KafkaConfigError, match="check ssl_password") as caught:
        KafkaSecurity(
            security_protocol="SSL", ssl_certfile=pki["cert"], ssl_keyfile=pki["key_encrypted"], ssl_password=PASSWORD
        )
    _assert_hidden(str(caught.value))


def test_an_unreadable_file_is_named(pki: dict[str, str], tmp_path: Path) -> None:
    locked = tmp_path / "ca.pem"
    locked.write_bytes(Path(pki["ca"]).read_bytes())
    locked.chmod(0)
    try:
        readable = locked.open("rb")  # root reads anything: nothing to check then
    except PermissionError:
        with pytest.raises(KafkaConfigError, match=r"ssl_cafile: file .* is not readable"):
            KafkaSecurity(security_protocol="SSL", ssl_cafile=str(locked))
    else:
        readable.close()
        pytest.skip("running as root: every file is readable")


def test_redact_url_hides_passwords_but_keeps_references() -> None:
    url = "kafka://u:pw@b:9092?sasl_password=pw&sasl_password_env=VAR&ssl_password_file=/f&prefix=x"

    assert (
        redact_url(url) == "kafka://u:***@b:9092?sasl_password=***&sasl_password_env=VAR&ssl_password_file=/f&prefix=x"
    )


def test_sink_errors_show_the_url_redacted() -> None:
    with pytest.raises(ConfigError) as caught:
        SinkSpec.parse(f"kafka://b:9092?sasl_password={PASSWORD}")

    assert str(caught.value).startswith("--sink kafka://b:9092?sasl_password=***: ")
    _assert_hidden(str(caught.value))


def test_unreachable_hint_names_what_to_check() -> None:
    security = KafkaSecurity.from_settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="svc",
        sasl_password_env="KAFKA_PASSWORD",
        environ=ENV,
    )
    error = BrokerUnreachableError("b:9093", "Unable to bootstrap" + unreachable_hint(security))

    assert "connecting with SASL_SSL, SCRAM-SHA-256 as svc" in str(error)
    assert "the password from environment variable KAFKA_PASSWORD" in str(error)
    assert unreachable_hint(KafkaSecurity()) == ""
    _assert_hidden(str(error))


# --- the live YAML's kafka: section -----------------------------------------------------------------------------


def test_the_kafka_section_applies_to_every_kafka_sink(pki: dict[str, str]) -> None:
    text = CONFIG + (
        "sinks: [kafka://b1:9093, 'kafka://b2:9093?sasl_username=reader', file://out]\n"
        "kafka:\n"
        "  security_protocol: SASL_SSL\n"
        "  sasl_mechanism: SCRAM-SHA-512\n"
        "  sasl_username: svc\n"
        "  sasl_password_env: KAFKA_PASSWORD\n"
        f"  ssl_cafile: {pki['ca']}\n"
    )
    config = parse_config(text, "live.yaml", ENV)

    first, second, _ = config.sink_specs()
    assert first.kafka is not None and second.kafka is not None
    assert first.kafka.client_kwargs()["sasl_plain_username"] == "svc"
    assert second.kafka.client_kwargs()["sasl_plain_username"] == "reader"
    assert second.kafka.client_kwargs()["sasl_plain_password"] == PASSWORD
    assert second.kafka.client_kwargs()["ssl_cafile"] == pki["ca"]
    _assert_hidden(repr(config), str(first.kafka.describe()))


def test_environment_overrides_set_the_kafka_section(pki: dict[str, str]) -> None:
    environ = {
        **ENV,
        "STORYWIRE__KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "STORYWIRE__KAFKA__SASL_MECHANISM": "PLAIN",
        "STORYWIRE__KAFKA__SASL_USERNAME": "api-key",
        "STORYWIRE__KAFKA__SASL_PASSWORD_FILE": pki["password_file"],
        "STORYWIRE__KAFKA__SSL_CHECK_HOSTNAME": "false",
    }
    config = parse_config(CONFIG + "sinks: [kafka://b:9092]\n", "live.yaml", environ)

    (sink,) = config.sink_specs()
    assert sink.kafka is not None
    kwargs = sink.kafka.client_kwargs()
    assert (kwargs["security_protocol"], kwargs["sasl_mechanism"]) == ("SASL_SSL", "PLAIN")
    assert kwargs["sasl_plain_password"] == PASSWORD
    assert kwargs["ssl_check_hostname"] is False


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            f"kafka: {{sasl_password: {PASSWORD}}}\n",
            "live.yaml line 3: kafka.sasl_password: unknown key; did you mean 'sasl_password_env'?",
        ),
        (
            "kafka: {security_protocol: SASL_SSL, sasl_mechanism: PLAIN, sasl_username: u,\n"
            "        sasl_password_env: MISSING_VAR}\n",
            "live.yaml line 4: kafka.sasl_password_env: environment variable MISSING_VAR is not set",
        ),
        (
            "kafka: {ssl_cafile: /nonexistent/ca.pem, security_protocol: SSL}\n",
            "line 3: kafka.ssl_cafile: file /nonexistent/ca.pem does not exist",
        ),
        ("kafka: {sasl_mechanism: PLAIN}\n", "kafka.sasl_username: sasl_mechanism PLAIN needs a user name"),
        (
            "kafka: {security_protocol: PLAINTEXT, sasl_mechanism: PLAIN}\n",
            "kafka.sasl_mechanism: is set but security_protocol is PLAINTEXT",
        ),
        ("sinks: ['kafka+ssl://b:9093?ssl_cafile=/nonexistent']\n", "line 3: sinks[0]: sink kafka+ssl://b:9093"),
    ],
)
def test_kafka_section_mistakes_point_at_the_line(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG + section, "live.yaml", ENV)

    assert message in str(caught.value).replace(": kafka: ", ": kafka.")
    _assert_hidden(str(caught.value))


# --- the CLI's --bootstrap --------------------------------------------------------------------------------------


def test_topics_and_tail_take_the_sink_url_with_security(pki: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PASSWORD", PASSWORD)
    url = f"kafka+ssl://b:9093?sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD&ssl_cafile={pki['ca']}"

    config = config_from_bootstrap(url, "news", 5.0)

    assert config.client_kwargs()["security_protocol"] == "SASL_SSL"
    assert config.bootstrap_timeout_ms == 5_000
    assert "--broker 'kafka+ssl://b:9093?" in create_command(url, "news")
    with pytest.raises(KafkaConfigError, match=r"^--bootstrap: kafka URL .*sasl_password=\*\*\*"):
        config_from_bootstrap(f"kafka://b?sasl_password={PASSWORD}", "news", 5.0)


# --- compression codecs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_documented_codec_is_installed(codec: str) -> None:
    config = KafkaConfig.from_url(f"kafka://b:9092?compression={codec}")

    assert config.compression_type == (None if codec == "none" else codec)


def test_a_codec_whose_package_is_missing_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    missing: dict[str, Any] = {
        name: (package, lambda: False) for name, (package, _) in config_module._CODEC_PACKAGES.items()
    }
    monkeypatch.setattr(config_module, "_CODEC_PACKAGES", missing)

    for codec, package in (("snappy", "python-snappy"), ("lz4", "lz4"), ("zstd", "zstandard")):
        with pytest.raises(ConfigError, match=f"compression_type='{codec}' needs the Python package {package}"):
            SinkSpec.parse(f"kafka://b:9092?compression={codec}")
    assert KafkaConfig("b:9092", compression_type="gzip").compression_type == "gzip"
