"""Request plumbing shared by every handler: the `ApiRequest` dependency (context,
microversion, body, links) and request-body validation against Nova-style
JSON schemas."""
import datetime
import json

import jsonschema

from fastapi.responses import JSONResponse, Response

from lifeboat import exception
from lifeboat.conf import CONF


class ApiRequest:
    """What a handler needs to know about the HTTP request it serves."""

    def __init__(self, request, body_bytes):
        self.request = request
        self.context = request.state.context
        self.version = request.state.version
        self.legacy = request.state.legacy
        self._body = body_bytes
        self.query = request.query_params

    # --- body -----------------------------------------------------------
    def json(self, required=True):
        """The decoded JSON body; 400 on malformed JSON or a non-object."""
        if not self._body:
            if required:
                raise exception.Invalid("The request body is empty or invalid JSON.")
            return None
        body = parse_json(self._body)
        if not isinstance(body, dict):
            raise exception.Invalid("The request body must be a JSON object")
        return body

    def validated(self, schema):
        """The body, validated against `schema` (or a version-ranged list of them)."""
        body = self.json()
        validate(body, pick_schema(schema, self.version), legacy=self.legacy)
        return body

    # --- version --------------------------------------------------------
    def at_least(self, version):
        return self.version >= version

    # --- links ----------------------------------------------------------
    @property
    def base_url(self):
        """Absolute URL of the API root (no trailing slash), for links."""
        if CONF.api.public_endpoint:
            return CONF.api.public_endpoint.rstrip("/")
        return str(self.request.base_url).rstrip("/")

    @property
    def api_prefix(self):
        return "v2" if self.legacy else "v2.1"

    def link(self, collection, ident, bookmark=False):
        if bookmark:
            return "%s/%s/%s" % (self.base_url, collection, ident)
        return "%s/%s/%s/%s" % (self.base_url, self.api_prefix, collection, ident)

    def links(self, collection, ident):
        return [{"rel": "self", "href": self.link(collection, ident)},
                {"rel": "bookmark", "href": self.link(collection, ident, True)}]

    def page_links(self, path, items, limit, marker_of):
        """Nova's collection links: [{"rel": "next"}] when a positive limit was
        reached, with the last item's marker and the rest of the query kept;
        [] otherwise."""
        if not limit or len(items) != limit:
            return []
        return [{"rel": "next", "href": self.next_link(path, marker_of(items[-1]))}]

    def next_link(self, path, marker):
        """Absolute `next` href repeating the request's query with a new marker."""
        params = [(k, v) for k, v in self.query.multi_items() if k != "marker"]
        params.append(("marker", marker))
        from urllib.parse import urlencode
        return "%s/%s/%s?%s" % (self.base_url, self.api_prefix, path, urlencode(params))


def parse_json(raw):
    """Decode a request body; 400 for anything that is not storable JSON.

    Besides malformed text this refuses nesting deep enough to exhaust the
    parser's recursion and strings holding lone UTF-16 surrogates ("\\ud800"),
    which JSON allows but no database column or response can carry.
    """
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise exception.Invalid("Malformed request body")
    return value


def parse_time(value, name):
    """An ISO 8601 query parameter as naive UTC (as oslo's parse_isotime +
    normalize_time); 400 if unparseable or outside what a datetime can hold."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise exception.ValidationError(
            detail="Invalid input for query parameters %s. Value: %s. '%s' is not "
                   "a 'date-time'" % (name, value, value))
    return parsed


def respond(body=None, status=200, headers=None):
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def pick_schema(schema, version):
    """`schema` may be a dict or a list of (min, max, dict) by microversion."""
    if isinstance(schema, dict):
        return schema
    for low, high, candidate in schema:
        if version.matches(low, high):
            return candidate
    raise exception.Invalid("Invalid request for this microversion")


_FORMAT_CHECKER = jsonschema.FormatChecker()


def validate(body, schema, legacy=False):
    """Validate like Nova: the first error, in words an operator can act on."""
    if legacy:
        schema = _relaxed(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    raise exception.ValidationError(detail=_describe(error))


def _describe(error):
    from lifeboat.api.schemas.parameter_types import FORMAT_MESSAGES
    path = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "format" and error.validator_value in FORMAT_MESSAGES:
        where = path.split("/")[-1] if path else "body"
        return "Invalid input for field/attribute %s. Value: %s. %s" % (
            where, json.dumps(error.instance)[:200], FORMAT_MESSAGES[error.validator_value])
    if error.validator == "additionalProperties":
        return "Additional properties are not allowed (%s)" % error.message.split("(", 1)[-1].rstrip(")")
    if error.validator == "required":
        return error.message
    where = ("Invalid input for field/attribute %s. " % path.split("/")[-1]) if path else ""
    return "%sValue: %s. %s" % (where, json.dumps(error.instance)[:200], error.message)


def _relaxed(schema):
    """The /v2 legacy mode tolerates unknown keys, as Nova's legacy_v2 does."""
    if isinstance(schema, dict):
        out = {k: _relaxed(v) for k, v in schema.items()
               if k != "additionalProperties" or not schema.get("properties")}
        return out
    if isinstance(schema, list):
        return [_relaxed(v) for v in schema]
    return schema
