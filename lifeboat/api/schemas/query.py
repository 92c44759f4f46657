"""Query-string validation the way Nova's `validation.query_schema` does it.

A query string is seen as ``{name: [value, ...]}`` (every parameter may be
repeated), so query schemas describe each parameter as an array of strings.
Nova then:

* rejects the request (400) on the first schema error, worded
  ``Invalid input for query parameters <name>. Value: <v>. <why>``;
* when the schema has ``additionalProperties: False`` rejects unknown
  parameters with ``Additional properties are not allowed ('x' was
  unexpected)``;
* otherwise silently drops unknown parameters (keeping those matching
  ``patternProperties``) so handlers never see them.

`validate_query` does all three and returns the cleaned dict of lists.
"""
import re

import jsonschema

from lifeboat import exception
from lifeboat.api import microversion
from lifeboat.api import wsgi
from lifeboat.api.schemas import parameter_types


def multi(schema):
    """A parameter that may be given several times."""
    return {"type": "array", "items": schema}


def single(schema):
    """A parameter that may be given at most once."""
    return {"type": "array", "items": schema, "maxItems": 1}


# Values Nova does not inspect, and values it compiles as regexes.
common_param = multi({"type": "string"})
common_regex_param = multi({"type": "string", "format": "regex"})

pagination = {
    "limit": multi(parameter_types.non_negative_integer),
    "marker": multi({"type": "string"}),
}


def schema(properties, additional=True, patterns=None):
    """A query schema; `additional` False makes unknown parameters a 400."""
    out = {"type": "object", "properties": dict(properties),
           "additionalProperties": additional}
    if patterns:
        out["patternProperties"] = dict(patterns)
    return out


def strict(query_schema):
    """The same schema with unknown parameters rejected."""
    out = dict(query_schema)
    out["additionalProperties"] = False
    return out


def permissive_until(properties, last_permissive, patterns=None):
    """Version-ranged schema that ignores unknown parameters up to and
    including `last_permissive` and rejects them afterwards."""
    loose = schema(properties, True, patterns)
    following = microversion.VERSIONS[
        microversion.VERSIONS.index(last_permissive) + 1]
    return [(None, last_permissive, loose), (following, None, strict(loose))]


def to_version(version):
    """An APIVersion from an APIVersion or an "X.Y" string (None is 2.1)."""
    if version is None:
        return microversion.APIVersion(microversion.MIN_VERSION)
    if isinstance(version, microversion.APIVersion):
        return version
    return microversion.APIVersion(str(version))


def to_multidict(query_items):
    """``{name: [values]}`` from a Starlette QueryParams, a mapping of lists
    or strings, or an iterable of ``(name, value)`` pairs."""
    if hasattr(query_items, "multi_items"):
        query_items = query_items.multi_items()
    elif isinstance(query_items, dict):
        pairs = []
        for key, value in query_items.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((key, v) for v in values)
        query_items = pairs
    out = {}
    for key, value in query_items:
        out.setdefault(key, []).append(value)
    return out


def _describe(error):
    if error.path:
        return ("Invalid input for query parameters %s. Value: %s. %s"
                % (error.path[0], error.instance, error.message))
    return error.message


def validate_query(query_schema, query_items, version=None):
    """Validate `query_items` against `query_schema` (a dict or a
    version-ranged list) and return the parameters the handler may use,
    as ``{name: [values]}``. Raises ValidationError (400) like Nova."""
    version = to_version(version)
    chosen = wsgi.pick_schema(query_schema, version)
    params = to_multidict(query_items)
    validator = jsonschema.Draft4Validator(
        chosen, format_checker=wsgi._FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(params))
    if error is not None:
        raise exception.ValidationError(detail=_describe(error))
    if chosen.get("additionalProperties", True) is not False:
        known = chosen.get("properties", {})
        patterns = [re.compile(p) for p in chosen.get("patternProperties", {})]
        params = {k: v for k, v in params.items()
                  if k in known or any(p.match(k) for p in patterns)}
    return params


def last(params, name, default=None):
    """The value a handler should use for a repeated parameter: Nova reads
    the query through webob's MultiDict, whose ``[name]`` is the last one."""
    values = params.get(name)
    return values[-1] if values else default
