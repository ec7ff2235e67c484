"""The [lti] table of a TOML file: where the platform is and how the tool proves who it is.

Every problem is reported as a ConfigError naming the file and the key, so that an
instructor can fix the file without guessing.
"""
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from grader.config import ConfigError, read_toml
from grader.i18n import _

REQUIRED = ("client_id", "token_url", "lineitem", "private_key_file", "key_id")
OPTIONAL = ("issuer", "deployment_id", "audience", "max_attempts", "backoff_seconds",
            "timeout_seconds", "comment_checks")


@dataclass(frozen=True)
class LtiConfig:
    """What the tool needs to publish scores to one line item of one platform."""

    client_id: str
    token_url: str
    lineitem: str
    key_id: str
    private_key_pem: bytes = field(repr=False)
    private_key_file: Path = None
    issuer: str = ""
    deployment_id: str = ""
    audience: str = ""  # the `aud` of the client assertion; the token URL when empty
    max_attempts: int = 4  # tries of one request when the platform fails or cannot be reached
    backoff_seconds: float = 0.5  # the first wait between tries; doubled each time
    timeout_seconds: float = 30.0
    comment_checks: int = 3  # failing checks quoted in the comment
    source: Path = None  # the file it came from

    @property
    def assertion_audience(self):
        return self.audience or self.token_url


def _fail(path, key, problem):
    return ConfigError(_("{file}: [lti] {key}: {problem}").format(file=path, key=key, problem=problem))


def _text(path, table, key):
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, key, _("must be a non-empty string, got {value}").format(value=repr(value)))
    return value.strip()


def _url(path, table, key):
    value = _text(path, table, key)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(path, key, _("must be an http(s) URL, got {value}").format(value=repr(value)))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise _fail(path, key, _("must use https (plain http is allowed only on this machine), got {value}")
                    .format(value=repr(value)))
    return value


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _number(path, table, key, kind, low, high, default):
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise _fail(path, key, _("must be a number between {low} and {high}, got {value}")
                    .format(low=low, high=high, value=repr(value)))
    if not low <= value <= high:
        raise _fail(path, key, _("must be a number between {low} and {high}, got {value}")
                    .format(low=low, high=high, value=repr(value)))
    return kind(value)


def _private_key(path, table):
    """Read the PEM file (relative to the config file's folder) and check that it is an RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key_path = Path(_text(path, table, "private_key_file")).expanduser()
    if not key_path.is_absolute():
        key_path = path.parent / key_path
    try:
        pem = key_path.read_bytes()
    except OSError as exc:
        raise _fail(path, "private_key_file", _("{key_file} cannot be read ({problem})")
                    .format(key_file=key_path, problem=exc.strerror)) from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise _fail(path, "private_key_file", _("{key_file} is protected by a password; give an unencrypted key")
                    .format(key_file=key_path)) from None
    except ValueError:
        raise _fail(path, "private_key_file", _("{key_file} is not a PEM private key").format(key_file=key_path)) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _fail(path, "private_key_file", _("{key_file} is not an RSA key (LTI 1.3 signs with RS256)")
                    .format(key_file=key_path))
    return key_path, pem


def parse_lti_table(table, path):
    """An LtiConfig from the [lti] table of the file at `path` (a dict, as TOML gives it)."""
    path = Path(path)
    unknown = sorted(set(table) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ConfigError(_("{file}: unknown setting(s) in [lti]: {names}").format(file=path, names=", ".join(unknown)))
    missing = [key for key in REQUIRED if key not in table]
    if missing:
        raise ConfigError(_("{file}: [lti] lacks {names}").format(file=path, names=", ".join(missing)))
    key_path, pem = _private_key(path, table)
    optional_text = {key: _text(path, table, key) for key in ("issuer", "deployment_id") if key in table}
    return LtiConfig(
        client_id=_text(path, table, "client_id"),
        token_url=_url(path, table, "token_url"),
        lineitem=_url(path, table, "lineitem"),
        key_id=_text(path, table, "key_id"),
        private_key_pem=pem,
        private_key_file=key_path,
        audience=_text(path, table, "audience") if "audience" in table else "",
        max_attempts=_number(path, table, "max_attempts", int, 1, 10, 4),
        backoff_seconds=_number(path, table, "backoff_seconds", float, 0, 60, 0.5),
        timeout_seconds=_number(path, table, "timeout_seconds", float, 1, 300, 30.0),
        comment_checks=_number(path, table, "comment_checks", int, 0, 20, 3),
        source=path,
        **optional_text,
    )


def load_lti_config(path):
    """The LtiConfig of the [lti] table in the TOML file at `path`."""
    path = Path(path)
    data = read_toml(path)
    table = data.get("lti")
    if not isinstance(table, dict):
        raise ConfigError(_("{file}: has no [lti] table").format(file=path))
    return parse_lti_table(table, path)
