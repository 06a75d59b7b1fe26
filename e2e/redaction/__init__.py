"""One redaction gate for everything the harness emits: the secrets registry (`secrets.py`),
masking of structures and files (`scrub.py`), of log records (`logs.py`), and the pytest plugin
that applies them to reports, JUnit, Allure and stack logs (`plugin.py`)."""

from e2e.redaction.secrets import REGISTRY

register = REGISTRY.register
register_env = REGISTRY.register_env
redact = REGISTRY.redact

__all__ = ["REGISTRY", "redact", "register", "register_env"]
