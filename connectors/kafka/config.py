"""Kafka client settings: one frozen, validated object, plus a ``kafka://`` URL parser."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from .errors import KafkaConfigError
from .security import URL_SECURITY_PARAMS, KafkaSecurity, Secret, redact_url

__all__ = ["COMPRESSION_TYPES", "DEFAULT_PORT", "KafkaConfig", "KafkaSecurity", "Secret", "redact_url"]

DEFAULT_PORT: Final = 9092
COMPRESSION_TYPES: Final = frozenset({"gzip", "snappy", "lz4", "zstd"})


def _has_codec(compression: str) -> Callable[[], bool]:
    def installed() -> bool:
        from kafka import codec  # here, not at the top: importing kafka-python takes about 0.25 s

        has: Callable[[], bool] = getattr(codec, f"has_{compression}")
        return has()

    return installed


# codec -> (the package kafka-python imports for it, whether it is installed). storywire declares all three
# (kafka-python's lz4, snappy and zstd extras); a missing one is refused when the config is built.
_CODEC_PACKAGES: Final = {
    "snappy": ("python-snappy", _has_codec("snappy")),
    "lz4": ("lz4", _has_codec("lz4")),
    "zstd": ("zstandard", _has_codec("zstd")),
}
_ACKS: Final = frozenset({"all", "1", "0"})
_CLIENT_ID_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
TOPIC_PREFIX_RE: Final = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*$")
_URL_SCHEMES: Final = {"kafka": "PLAINTEXT", "kafka+ssl": "SSL"}
# URL query parameter -> field name (aliases accepted for the common ones).
_URL_PARAMS: Final = {
    "client_id": "client_id",
    "topic_prefix": "topic_prefix",
    "prefix": "topic_prefix",
    "acks": "acks",
    "compression": "compression_type",
    "compression_type": "compression_type",
    "linger_ms": "linger_ms",
    "request_timeout_ms": "request_timeout_ms",
    "bootstrap_timeout_ms": "bootstrap_timeout_ms",
    "delivery_timeout_ms": "delivery_timeout_ms",
    "max_block_ms": "max_block_ms",
    "max_request_size": "max_request_size",
    "delivery_attempts": "delivery_attempts",
    "delivery_backoff_ms": "delivery_backoff_ms",
    "enable_idempotence": "enable_idempotence",
    "allow_auto_create_topics": "allow_auto_create_topics",
}
_INT_FIELDS: Final = frozenset(
    {
        "linger_ms",
        "request_timeout_ms",
        "bootstrap_timeout_ms",
        "delivery_timeout_ms",
        "max_block_ms",
        "max_request_size",
        "delivery_attempts",
        "delivery_backoff_ms",
    }
)
_BOOL_FIELDS: Final = frozenset({"enable_idempotence", "allow_auto_create_topics"})
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class KafkaConfig:
    """Settings shared by the writer, the admin helpers and the test consumer.

    ``bootstrap_servers`` is ``"host:port[,host:port...]"``. ``compression_type`` is ``None`` or one of
    ``gzip``, ``snappy``, ``lz4``, ``zstd`` (each works: storywire declares their Python codec packages; one
    that is missing anyway is refused here, naming the package). ``security`` is the TLS/SASL settings
    (:class:`~storywire.connectors.kafka.security.KafkaSecurity`; a mapping of its field names is accepted);
    passwords in it print as ``***``. :meth:`describe` lists every setting, safe to print. Production defaults
    follow Kafka's: ``acks="all"`` with idempotence, no topic auto-creation (create topics at start-up).

    ``delivery_attempts`` and ``delivery_backoff_ms`` are storywire's own retry on top of kafka-python's:
    records that failed transiently (each after up to ``delivery_timeout_ms`` of the client's own retries)
    are resent up to ``delivery_attempts - 1`` more times, pausing ``delivery_backoff_ms``, then twice as
    long each time (capped at 30 s); then ``DeliveryError`` stops the work. Worst case before a run gives
    up on a dead broker: about ``delivery_attempts * delivery_timeout_ms`` plus the pauses (about 6 min by default).
    The Beam Kafka sink instead gives its writer an outage limit (``--broker-outage-limit``,
    ``run.broker_outage_limit``, 15 min by default): it resends, with the same doubling pauses, until the broker
    acknowledges or the limit passes without progress, and ``delivery_attempts`` does not bound it. A broker
    that dies is noticed when its records expire, after ``delivery_timeout_ms`` (2 min by default).
    """

    bootstrap_servers: str
    client_id: str = "storywire"
    topic_prefix: str = "news"
    acks: str = "all"
    compression_type: str | None = "gzip"
    linger_ms: int = 5
    request_timeout_ms: int = 30_000
    bootstrap_timeout_ms: int = 10_000
    delivery_timeout_ms: int = 120_000
    max_block_ms: int = 60_000
    max_request_size: int = 1_048_576
    delivery_attempts: int = 3
    delivery_backoff_ms: int = 1_000
    enable_idempotence: bool = True
    allow_auto_create_topics: bool = False
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bootstrap_servers", _normalise_bootstrap(self.bootstrap_servers))
        object.__setattr__(self, "security", _security(self.security))
        if not _CLIENT_ID_RE.match(self.client_id):
            _fail("client_id", self.client_id, "use 1-255 characters from [A-Za-z0-9._-]")
        if not TOPIC_PREFIX_RE.match(self.topic_prefix) or len(self.topic_prefix) > 200:
            _fail(
                "topic_prefix",
                self.topic_prefix,
                "use lowercase dot-separated words of [a-z0-9_-], e.g. 'news' or 'staging.news'",
            )
        acks = str(self.acks).lower()
        if acks not in _ACKS:
            _fail("acks", self.acks, "use 'all', '1' or '0'")
        object.__setattr__(self, "acks", acks)
        if self.compression_type is not None:
            compression = self.compression_type.lower()
            if compression == "none":
                object.__setattr__(self, "compression_type", None)
            elif compression not in COMPRESSION_TYPES:
                _fail("compression_type", self.compression_type, f"use none or {_sorted(COMPRESSION_TYPES)}")
            else:
                object.__setattr__(self, "compression_type", compression)
                _check_codec(compression)
        if self.enable_idempotence and acks != "all":
            _fail("acks", self.acks, "an idempotent producer needs acks='all' (or set enable_idempotence=False)")
        _check_range("linger_ms", self.linger_ms, 0, 60_000)
        _check_range("request_timeout_ms", self.request_timeout_ms, 1_000, 3_600_000)
        _check_range("bootstrap_timeout_ms", self.bootstrap_timeout_ms, 100, 3_600_000)
        _check_range("delivery_timeout_ms", self.delivery_timeout_ms, 1_000, 86_400_000)
        _check_range("max_block_ms", self.max_block_ms, 0, 3_600_000)
        _check_range("max_request_size", self.max_request_size, 1_024, 1_073_741_824)
        _check_range("delivery_attempts", self.delivery_attempts, 1, 100)
        _check_range("delivery_backoff_ms", self.delivery_backoff_ms, 0, 600_000)
        if self.delivery_timeout_ms < self.linger_ms + self.request_timeout_ms:
            _fail(
                "delivery_timeout_ms",
                self.delivery_timeout_ms,
                f"must be >= linger_ms + request_timeout_ms ({self.linger_ms + self.request_timeout_ms})",
            )
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "must be a bool")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        security: KafkaSecurity | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> KafkaConfig:
        """Build from ``kafka://host:port[,host:port]?compression=gzip&client_id=x...``.

        Query parameters: the field names (``compression`` and ``prefix`` are accepted as aliases) and the
        security settings of :data:`~storywire.connectors.kafka.security.URL_SECURITY_PARAMS`
        (``sasl_mechanism``, ``sasl_username``, ``sasl_password_env``/``_file``, ``ssl_cafile``...), which go on
        top of ``security`` (the YAML ``kafka:`` section). ``kafka+ssl://`` means TLS; a ``sasl_mechanism`` means
        SASL; ``security_protocol`` may say it outright. Passwords are refused in the URL (user part or query):
        give ``sasl_password_env=VAR`` (read from ``environ``, the process environment by default) or
        ``sasl_password_file=PATH``. Keyword ``overrides`` win over the URL. Messages show the URL redacted.
        """
        shown = redact_url(url.strip())
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _URL_SCHEMES:
            raise KafkaConfigError(f"kafka URL {shown!r}: scheme must be one of {sorted(_URL_SCHEMES)}")
        if "@" in parts.netloc:
            raise KafkaConfigError(
                f"kafka URL {shown!r}: credentials are not accepted in the URL; give sasl_username=NAME and "
                "sasl_password_env=VARIABLE or sasl_password_file=PATH as query parameters"
            )
        if not parts.netloc:
            raise KafkaConfigError(f"kafka URL {shown!r}: no host, expected kafka://host:port")
        if parts.path not in ("", "/") or parts.fragment:
            raise KafkaConfigError(f"kafka URL {shown!r}: unexpected path or fragment")
        values: dict[str, Any] = {"bootstrap_servers": parts.netloc}
        secure: dict[str, str] = {}
        for raw_key, raw_value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
            key = raw_key.lower()
            if key in ("sasl_password", "ssl_password", "password", "sasl_plain_password"):
                setting = "ssl_password" if key == "ssl_password" else "sasl_password"
                raise KafkaConfigError(
                    f"kafka URL {shown!r}: a password is never written in a URL (it ends up in shell history, "
                    f"process lists and logs); give {setting}_env=VARIABLE or {setting}_file=PATH"
                )
            if key in URL_SECURITY_PARAMS:
                if key in secure:
                    raise KafkaConfigError(f"kafka URL: parameter {raw_key!r} given twice")
                secure[key] = raw_value
                continue
            name = _URL_PARAMS.get(key)
            if name is None:
                known = sorted({*_URL_PARAMS, *URL_SECURITY_PARAMS})
                raise KafkaConfigError(f"kafka URL: unknown parameter {raw_key!r}; known: {known}")
            if name in values:
                raise KafkaConfigError(f"kafka URL: parameter {raw_key!r} given twice")
            values[name] = _convert(name, raw_value)
        base = security if security is not None else KafkaSecurity()
        values["security"] = base.with_url_settings(secure, tls=_URL_SCHEMES[scheme] == "SSL", environ=environ)
        values.update(overrides)
        return cls(**values)

    def with_overrides(self, **changes: Any) -> KafkaConfig:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    @property
    def bootstrap_list(self) -> list[str]:
        """``bootstrap_servers`` split into ``host:port`` entries."""
        return self.bootstrap_servers.split(",")

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments common to kafka-python's producer, consumer and admin clients."""
        return {
            "bootstrap_servers": self.bootstrap_list,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.bootstrap_timeout_ms,
            **self.security.client_kwargs(),
        }

    def describe(self) -> dict[str, str]:
        """Every setting as text, safe to print or log (``storywire`` commands show this): passwords appear as
        ``*** (from environment variable X)``."""
        shown = {item.name: str(getattr(self, item.name)) for item in fields(self) if item.name != "security"}
        shown.update(self.security.describe())
        return shown

    def producer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``kafka.KafkaProducer``."""
        return {
            **self.client_kwargs(),
            "acks": "all" if self.acks == "all" else int(self.acks),
            "enable_idempotence": self.enable_idempotence,
            "compression_type": self.compression_type,
            "linger_ms": self.linger_ms,
            "delivery_timeout_ms": self.delivery_timeout_ms,
            "max_block_ms": self.max_block_ms,
            "max_request_size": self.max_request_size,
            "allow_auto_create_topics": self.allow_auto_create_topics,
        }


def _security(value: object) -> KafkaSecurity:
    if isinstance(value, KafkaSecurity):
        return value
    if isinstance(value, Mapping):
        try:
            return KafkaSecurity(**value)
        except TypeError:
            known = ", ".join(item.name for item in fields(KafkaSecurity))
            unknown = sorted(set(value) - {item.name for item in fields(KafkaSecurity)})
            raise KafkaConfigError(f"security: unknown setting(s) {unknown}; known: {known}") from None
    raise KafkaConfigError(f"security: expected KafkaSecurity settings, got {type(value).__name__}")


def _check_codec(compression: str) -> None:
    package = _CODEC_PACKAGES.get(compression)
    if package is not None and not package[1]():
        raise KafkaConfigError(
            f"compression_type={compression!r} needs the Python package {package[0]}, which is not installed "
            f"(storywire declares it: reinstall storywire, or pip install {package[0]}); or use gzip or none"
        )


def _normalise_bootstrap(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KafkaConfigError("bootstrap_servers: expected 'host:port[,host:port...]', got an empty value")
    return ",".join(_normalise_address(raw.strip()) for raw in value.split(","))


def _normalise_address(entry: str) -> str:
    if entry.startswith("["):  # bracketed IPv6: [::1]:9092
        host, _, rest = entry.partition("]")
        host += "]"
        if rest and not rest.startswith(":"):
            raise KafkaConfigError(f"bootstrap_servers: entry {entry!r} is malformed")
        port = rest[1:] if rest else str(DEFAULT_PORT)
    elif entry.count(":") > 1:
        raise KafkaConfigError(f"bootstrap_servers: write IPv6 addresses in brackets, e.g. [::1]:9092 ({entry!r})")
    else:
        host, _, port = entry.partition(":")
        port = port or str(DEFAULT_PORT)
    if host in ("", "[]") or any(ch.isspace() or ch in "/?#@" for ch in host):
        raise KafkaConfigError(f"bootstrap_servers: entry {entry!r} has no valid host")
    if not port.isdigit() or not 1 <= int(port) <= 65_535:
        raise KafkaConfigError(f"bootstrap_servers: entry {entry!r} has an invalid port")
    return f"{host}:{int(port)}"


def _convert(name: str, raw: str) -> object:
    if name in _INT_FIELDS:
        try:
            return int(raw)
        except ValueError:
            raise KafkaConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if name in _BOOL_FIELDS:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise KafkaConfigError(f"{name}: expected true/false, got {raw!r}")
    if name == "compression_type" and raw.lower() in ("", "none"):
        return None
    return raw


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(name, value, f"must be an integer between {low} and {high}")


def _fail(name: str, value: object, hint: str) -> None:
    raise KafkaConfigError(f"{name}={value!r} is invalid: {hint}")


def _sorted(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))
