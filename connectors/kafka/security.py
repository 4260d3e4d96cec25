"""How storywire authenticates to Kafka: TLS (a custom CA, client certificates) and SASL (PLAIN, SCRAM).

One frozen, validated :class:`KafkaSecurity`, the ``security`` of a
:class:`~storywire.connectors.kafka.config.KafkaConfig`, mapped to kafka-python's keyword arguments in one place
(:meth:`KafkaSecurity.client_kwargs`). It comes from the live YAML's ``kafka:`` section (every ``kafka://`` sink;
``STORYWIRE__KAFKA__*`` overrides it) and from the query of a ``kafka://`` URL (``--sink``, ``--bootstrap``),
whose settings win key by key::

    kafka+ssl://b1:9093?sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD

Passwords are :class:`Secret` values, read from an environment variable (``sasl_password_env=VAR``) or a file
(``sasl_password_file=/run/secrets/kafka``, one trailing newline dropped), never written in a URL or the YAML.
A ``Secret`` prints as ``***``: ``repr``/``str`` of the settings, their :meth:`~KafkaSecurity.describe` and
every error message name where a password comes from, never the password. The resolved value does travel
with the pickled settings to the pipeline's workers (the clients there need it).

Files (``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``) are checked when the settings are built: they must
exist and be readable, and load as the CA, certificate and key they claim to be (with ``ssl_password``), so a
wrong path or password is one line at start-up naming the setting, not a broker "unreachable" later.
"""

from __future__ import annotations

import hmac
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final, NoReturn

from .errors import KafkaConfigError

__all__ = [
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "URL_SECURITY_PARAMS",
    "KafkaSecurity",
    "Secret",
    "redact_url",
    "unreachable_hint",
]

SECURITY_PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_SECRET_NAMES: Final = ("sasl_password", "ssl_password")
URL_SECURITY_PARAMS: Final = frozenset(
    {
        "security_protocol",
        "sasl_mechanism",
        "sasl_username",
        "sasl_password_env",
        "sasl_password_file",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password_env",
        "ssl_password_file",
        "ssl_check_hostname",
    }
)
"""The settings a ``kafka://`` URL query (and the YAML ``kafka:`` section) may give."""
_MASK: Final = "***"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class Secret:
    """A password that never prints: ``str``/``repr``/``format`` show ``***`` and where it came from.

    ``reveal()`` gives the value to the one place that needs it (:meth:`KafkaSecurity.client_kwargs`).
    """

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "the settings") -> None:
        if not isinstance(value, str) or not value:
            raise KafkaConfigError(f"a password from {source} is empty")
        self._value = value
        self.source = source

    @classmethod
    def from_env(cls, setting: str, variable: str, environ: Mapping[str, str] | None = None) -> Secret:
        """The value of environment variable ``variable``; ``setting`` (e.g. ``sasl_password_env``) names it in
        errors."""
        env = os.environ if environ is None else environ
        if not variable.strip():
            raise KafkaConfigError(f"{setting}: give the name of an environment variable, e.g. KAFKA_PASSWORD")
        if variable not in env:
            raise KafkaConfigError(f"{setting}: environment variable {variable} is not set")
        if not env[variable]:
            raise KafkaConfigError(f"{setting}: environment variable {variable} is empty")
        return cls(env[variable], f"environment variable {variable}")

    @classmethod
    def from_file(cls, setting: str, path: str) -> Secret:
        """The text of the file at ``path`` without its trailing newline (as Docker and Kubernetes secrets
        are often written)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KafkaConfigError(f"{setting}: file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KafkaConfigError(f"{setting}: cannot read {path}: {type(exc).__name__}") from None
        value = text[:-1] if text.endswith("\n") else text
        value = value[:-1] if value.endswith("\r") else value
        if not value:
            raise KafkaConfigError(f"{setting}: file {path} is empty")
        return cls(value, f"file {path}")

    def reveal(self) -> str:
        """The password itself: only for the Kafka client."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK} from {self.source})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return format(_MASK, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value, self.source))


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL settings; the default is PLAINTEXT without authentication (the local broker).

    ``security_protocol``: ``PLAINTEXT``, ``SSL`` (TLS), ``SASL_PLAINTEXT`` or ``SASL_SSL`` (SASL over TLS); when
    not given it is ``SASL_SSL`` if a mechanism is set (credentials never go in clear unless ``SASL_PLAINTEXT`` is
    asked for by name), ``SSL`` if a TLS file or password is, else ``PLAINTEXT``.
    ``sasl_mechanism``: ``PLAIN``, ``SCRAM-SHA-256`` or ``SCRAM-SHA-512``, with ``sasl_username`` and
    ``sasl_password``. ``ssl_cafile``: a PEM file of the CA(s) to trust instead of the system's; ``ssl_certfile``
    and ``ssl_keyfile``: the client certificate and key for mutual TLS (the key may sit in the certificate file),
    ``ssl_password`` decrypts the key. ``ssl_check_hostname=False`` accepts a certificate for another host name
    (still signed by a trusted CA): for brokers reached through a tunnel only.
    """

    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: Secret | None = None
    ssl_check_hostname: bool = True

    def __post_init__(self) -> None:
        # Not given: SASL_SSL when a mechanism is set (SASL_PLAINTEXT only when asked for by name), SSL when a TLS
        # file or password is, else PLAINTEXT. Whether it was given decides how a URL's settings combine with it.
        object.__setattr__(self, "_protocol_given", self.security_protocol is not None)
        if self.security_protocol is None:
            tls_given = any(
                getattr(self, name) for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password")
            )
            derived = "SASL_SSL" if self.sasl_mechanism else "SSL" if tls_given else "PLAINTEXT"
            object.__setattr__(self, "security_protocol", derived)
        protocol = str(self.security_protocol).strip().upper()
        if protocol not in SECURITY_PROTOCOLS:
            _fail("security_protocol", f"{self.security_protocol!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
        object.__setattr__(self, "security_protocol", protocol)
        if self.sasl_mechanism is not None:
            mechanism = str(self.sasl_mechanism).strip().upper()
            if mechanism not in SASL_MECHANISMS:
                _fail("sasl_mechanism", f"{self.sasl_mechanism!r} is not one of {', '.join(SASL_MECHANISMS)}")
            object.__setattr__(self, "sasl_mechanism", mechanism)
        for name in _SECRET_NAMES:
            value = getattr(self, name)
            if isinstance(value, str):  # given directly (from Python): keep it hidden all the same
                object.__setattr__(self, name, Secret(value, name))
            elif value is not None and not isinstance(value, Secret):
                _fail(name, "must be a Secret or a string")
        if not isinstance(self.ssl_check_hostname, bool):
            _fail("ssl_check_hostname", f"{self.ssl_check_hostname!r} must be true or false")
        self._check_sasl()
        self._check_tls()

    def _check_sasl(self) -> None:
        protocol = self.security_protocol
        if self.uses_sasl:
            if self.sasl_mechanism is None:
                _fail("sasl_mechanism", f"security_protocol {protocol} needs one of {', '.join(SASL_MECHANISMS)}")
            if not self.sasl_username:
                _fail("sasl_username", f"sasl_mechanism {self.sasl_mechanism} needs a user name")
            if self.sasl_password is None:
                _fail(
                    "sasl_password",
                    f"sasl_mechanism {self.sasl_mechanism} needs a password: give sasl_password_env (an environment "
                    "variable) or sasl_password_file (a file)",
                )
            return
        given = [name for name in ("sasl_mechanism", "sasl_username", "sasl_password") if getattr(self, name)]
        if given:
            _fail(
                given[0],
                f"is set but security_protocol is {protocol}, which does not authenticate: use SASL_SSL "
                "(or SASL_PLAINTEXT on a trusted network)",
            )

    def _check_tls(self) -> None:
        files = {name: getattr(self, name) for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")}
        if not self.uses_tls:
            given = [name for name, path in files.items() if path] + (["ssl_password"] if self.ssl_password else [])
            if given:
                _fail(
                    given[0],
                    f"is set but security_protocol is {self.security_protocol}, which does not use TLS: use SSL or "
                    "SASL_SSL (kafka+ssl:// in a URL)",
                )
            if not self.ssl_check_hostname:
                _fail("ssl_check_hostname", f"is false but security_protocol {self.security_protocol} uses no TLS")
            return
        for name, path in files.items():
            if path is not None:
                _check_readable(name, path)
        if self.ssl_keyfile and not self.ssl_certfile:
            _fail("ssl_keyfile", "is set without ssl_certfile (the client certificate it belongs to)")
        if self.ssl_password and not self.ssl_certfile:
            _fail("ssl_password", "is set without ssl_certfile and ssl_keyfile (the key it decrypts)")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ssl_cafile:
            try:
                context.load_verify_locations(cafile=self.ssl_cafile)
            except (ssl.SSLError, ValueError) as exc:
                _fail("ssl_cafile", f"{self.ssl_cafile} holds no PEM CA certificate ({_ssl_reason(exc)})")
        if self.ssl_certfile:
            password = self.ssl_password.reveal() if self.ssl_password else None
            try:
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile, password=password)
            except (ssl.SSLError, ValueError, OSError) as exc:
                key = self.ssl_keyfile or self.ssl_certfile
                hint = "check ssl_password" if self.ssl_password else "an encrypted key needs ssl_password_env/_file"
                _fail(
                    "ssl_certfile",
                    f"cannot load the client certificate {self.ssl_certfile} with the key in {key} "
                    f"({_ssl_reason(exc)}): a PEM certificate and its matching private key; {hint}",
                )

    @classmethod
    def from_settings(
        cls,
        *,
        sasl_password_env: str | None = None,
        sasl_password_file: str | None = None,
        ssl_password_env: str | None = None,
        ssl_password_file: str | None = None,
        environ: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> KafkaSecurity:
        """Build from the YAML ``kafka:`` section's keys: passwords by ``*_password_env`` (an environment variable
        of ``environ``, the process environment by default) or ``*_password_file``, never inline."""
        _refuse_inline(settings, "the kafka: section")
        secrets = {
            "sasl_password": (sasl_password_env, sasl_password_file),
            "ssl_password": (ssl_password_env, ssl_password_file),
        }
        for name, (variable, path) in secrets.items():
            secret = _resolve(name, variable, path, environ)
            if secret is not None:
                settings[name] = secret
        try:
            return cls(**settings)
        except TypeError as exc:
            raise KafkaConfigError(f"unknown Kafka security setting: {exc}") from None

    def with_url_settings(
        self, params: Mapping[str, str], *, tls: bool, environ: Mapping[str, str] | None = None
    ) -> KafkaSecurity:
        """These settings with a URL query's on top (``params``: names of :data:`URL_SECURITY_PARAMS`). ``tls``:
        the scheme was ``kafka+ssl://``. Without a ``security_protocol`` given by name (here or in the URL) it is
        derived from everything: SASL_SSL when a mechanism is set, SSL when the scheme or a TLS file asks for TLS,
        else PLAINTEXT."""
        changes: dict[str, Any] = {}
        for name, raw in params.items():
            if name in ("sasl_password_env", "sasl_password_file", "ssl_password_env", "ssl_password_file"):
                continue
            if name == "ssl_check_hostname":
                changes[name] = _boolean(name, raw)
            else:
                changes[name] = raw
        for name in _SECRET_NAMES:
            secret = _resolve(name, params.get(f"{name}_env"), params.get(f"{name}_file"), environ)
            if secret is not None:
                changes[name] = secret
        if "security_protocol" in changes:
            protocol = str(changes["security_protocol"]).strip().upper()
            if tls and protocol not in ("SSL", "SASL_SSL"):
                _fail("security_protocol", f"{protocol} contradicts the kafka+ssl:// scheme; use SSL or SASL_SSL")
        elif getattr(self, "_protocol_given", True):  # given by name in the settings: the URL may add TLS or SASL
            with_tls = tls or self.uses_tls
            with_sasl = self.uses_sasl or changes.get("sasl_mechanism") is not None
            if with_sasl and not self.uses_sasl and not with_tls:
                with_tls = True  # a mechanism means SASL_SSL unless SASL_PLAINTEXT is asked for by name
            changes["security_protocol"] = {
                (False, False): "PLAINTEXT",
                (True, False): "SSL",
                (False, True): "SASL_PLAINTEXT",
                (True, True): "SASL_SSL",
            }[(with_tls, with_sasl)]
        else:  # derived again from everything, the scheme included
            mechanism = changes.get("sasl_mechanism", self.sasl_mechanism)
            changes["security_protocol"] = "SSL" if tls and not mechanism else None
        return replace(self, **changes)

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def client_kwargs(self) -> dict[str, Any]:
        """kafka-python's keyword arguments (producer, consumer and admin client take the same): the one place
        the passwords are revealed."""
        kwargs: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.uses_tls:
            kwargs["ssl_check_hostname"] = self.ssl_check_hostname
            for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                if getattr(self, name):
                    kwargs[name] = getattr(self, name)
            if self.ssl_password is not None:
                kwargs["ssl_password"] = self.ssl_password.reveal()
        if self.uses_sasl:
            assert self.sasl_password is not None  # checked in __post_init__
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.reveal()
        return kwargs

    def describe(self) -> dict[str, str]:
        """The settings in force, safe to print or log: a password shows as ``*** (from file ...)``."""
        shown: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or (item.name == "ssl_check_hostname" and (value or not self.uses_tls)):
                continue
            shown[item.name] = f"{_MASK} (from {value.source})" if isinstance(value, Secret) else str(value)
        return shown

    def summary(self) -> str:
        """One line for messages, e.g. ``SASL_SSL, SCRAM-SHA-512 as svc, CA /etc/ca.pem``."""
        parts = [str(self.security_protocol)]
        if self.uses_sasl:
            parts.append(f"{self.sasl_mechanism} as {self.sasl_username}")
        if self.ssl_cafile:
            parts.append(f"CA {self.ssl_cafile}")
        if self.ssl_certfile:
            parts.append(f"client certificate {self.ssl_certfile}")
        return ", ".join(parts)


def unreachable_hint(security: KafkaSecurity) -> str:
    """What to add to "broker unreachable" when the connection is secured: a failed TLS handshake or SASL
    login looks like an unreachable broker to kafka-python (it retries until its bootstrap timeout)."""
    if security.security_protocol == "PLAINTEXT":
        return ""
    checks = [f"that this port is the broker's {security.security_protocol} listener"]
    if security.uses_tls:
        checks.append(
            "the CA (ssl_cafile)" if security.ssl_cafile else "the CA: is it in the system store? (ssl_cafile)"
        )
    if security.uses_sasl:
        checks.append(
            f"the user name and the password from {security.sasl_password.source if security.sasl_password else '?'}"
        )
    return f" (connecting with {security.summary()}: check {', '.join(checks)})"


def redact_url(url: str) -> str:
    """``url`` safe to print: a password in its user part or query (which storywire refuses) becomes ``***``."""
    head, sep, query = url.partition("?")
    scheme, marker, rest = head.partition("://")
    if marker and "@" in rest:
        user, _, host = rest.rpartition("@")
        head = f"{scheme}://{user.split(':', 1)[0]}:{_MASK}@{host}" if ":" in user else head
    if not sep:
        return head
    pairs = []
    for pair in query.split("&"):
        key, eq, _value = pair.partition("=")
        pairs.append(f"{key}={_MASK}" if eq and "password" in key.lower() and not _is_reference(key) else pair)
    return f"{head}?{'&'.join(pairs)}"


def _is_reference(key: str) -> bool:
    return key.lower().endswith(("_env", "_file"))


def _refuse_inline(settings: Mapping[str, Any], where: str) -> None:
    for name in _SECRET_NAMES:
        if name in settings:
            hint = f"give {name}_env (an environment variable) or {name}_file"
            _fail(name, f"passwords are not written in {where}: {hint}")


def _resolve(name: str, variable: str | None, path: str | None, environ: Mapping[str, str] | None) -> Secret | None:
    if variable is not None and path is not None:
        _fail(f"{name}_env", f"and {name}_file are both given; keep one")
    if variable is not None:
        return Secret.from_env(f"{name}_env", variable, environ)
    if path is not None:
        return Secret.from_file(f"{name}_file", path)
    return None


def _check_readable(name: str, path: str) -> None:
    file = Path(path)
    if not file.exists():
        _fail(name, f"file {path} does not exist")
    if not file.is_file():
        _fail(name, f"{path} is not a file")
    if not os.access(file, os.R_OK):
        _fail(name, f"file {path} is not readable by this user")


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else type(exc).__name__


def _boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    _fail(name, f"expected true or false, got {raw!r}")


def _fail(name: str, hint: str) -> NoReturn:
    raise KafkaConfigError(f"{name}: {hint}")
