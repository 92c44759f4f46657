"""Request schemas (Nova-compatible), one module per resource.

Importing the package registers Nova's formats (uuid, name, base64, ...) on the
shared validator, so every schema sees the same rules.
"""
from lifeboat.api.schemas import parameter_types  # noqa: F401
