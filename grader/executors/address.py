"""The --dask value: a scheduler address or local:N, checked before any work starts."""
import importlib.util
import re

from grader.config import ConfigError
from grader.i18n import _

ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://\S+$")


def parse_address(value, source="--dask"):
    """("local", N) for "local:N", or (scheduler address, None); a bad value is a ConfigError naming `source`."""
    text = str(value).strip()
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError(_("{source}: Dask is not installed here; install the grader with its cluster extra "
                            "(pip install 'nn-grader[cluster]')").format(source=source))
    if text.startswith("local:"):
        count = text[len("local:"):]
        if count.isdigit() and 1 <= int(count) <= 256:
            return "local", int(count)
        raise ConfigError(_("{source}: local:N needs N between 1 and 256 worker processes, got {value}").format(
            source=source, value=repr(text)))
    if ADDRESS.match(text):
        return text, None
    raise ConfigError(_("{source}: expected a scheduler address like tcp://host:8786 or local:N, got {value}").format(
        source=source, value=repr(text)))
