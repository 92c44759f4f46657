"""Building blocks for request schemas, with Nova's accept/reject rules.

Nova validates bodies with JSON Schema plus a handful of *format* checkers
(server names, uuids, base64, ISO 8601 dates, regexes) that the stock
`jsonschema.FormatChecker` either lacks or implements differently (its
`uuid` demands dashes, Nova's does not). Importing this module registers
Nova-compatible checkers on the checker `lifeboat.api.wsgi.validate` uses, so
every schema built from these types rejects exactly what Nova rejects.

Two Nova quirks are reproduced on purpose:

* Nova builds its name rules from regexes ending in ``$``, which in Python
  also matches before one trailing newline, so ``"web\\n"`` is a valid name.
* Nova compares numeric *strings* against ``minimum``/``maximum`` (it
  subclasses the validator); plain Draft 4 ignores them for strings, so the
  types below encode those bounds with patterns or a format instead.
"""
import base64
import binascii
import re
import unicodedata

from oslo_utils import timeutils
from oslo_utils import uuidutils

from lifeboat.api import wsgi

# Nova: nova/db/constants.py MAX_INT, objects.tag.MAX_TAG_LENGTH,
# objects.instance.MAX_TAG_COUNT.
MAX_INT = 0x7FFFFFFF
MAX_TAG_LENGTH = 60
MAX_TAG_COUNT = 50


# --- format checkers ------------------------------------------------------

def _is_printable(ch):
    """Nova's notion of printable: not a control/format char, not a line or
    paragraph separator, and inside the BMP (Nova's regex ranges stop at
    U+FFFE, so emoji and other astral characters are refused)."""
    if ord(ch) >= 0xFFFF:
        return False
    category = unicodedata.category(ch)
    return not category.startswith("C") and (
        not category.startswith("Z") or category == "Zs")


def _is_space(ch):
    return unicodedata.category(ch) == "Zs"


def _dollar(text):
    """What a regex anchored with ``$`` sees: one final newline is ignored."""
    return text[:-1] if text.endswith("\n") else text


def is_valid_name(text):
    """Printable, and no leading or trailing (Unicode) space.

    The empty string passes so that `minLength` alone reports it, as Nova.
    """
    text = _dollar(text)
    if not all(_is_printable(c) for c in text):
        return False
    return not text or not (_is_space(text[0]) or _is_space(text[-1]))


def is_valid_name_with_spaces(text):
    """The legacy /v2 rule: printable, with at least one non-space."""
    text = _dollar(text)
    return (all(_is_printable(c) for c in text)
            and any(not _is_space(c) for c in text))


def is_printable(text):
    """Descriptions: any printable characters, empty allowed."""
    return all(_is_printable(c) for c in _dollar(text))


def _strings_only(func):
    """Format checks constrain strings only (type errors are reported by
    `type`), as Nova's checkers do."""
    def check(instance):
        return func(instance) if isinstance(instance, str) else True
    check.__name__ = func.__name__
    return check


def _base64(text):
    try:
        base64.b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


def _date_time(text):
    try:
        timeutils.parse_isotime(text)
    except ValueError:
        return False
    return True


def _regex(text):
    # Nova: the empty string is a valid regex but matches nothing useful.
    if not text:
        return False
    try:
        re.compile(text)
    except re.error:
        return False
    return True


def _positive_int32(text):
    return text.isdigit() and 1 <= int(text) <= MAX_INT


FORMATS = {
    "uuid": uuidutils.is_uuid_like,
    "name": is_valid_name,
    "name_with_leading_trailing_spaces": is_valid_name_with_spaces,
    "printable": is_printable,
    "base64": _base64,
    "date-time": _date_time,
    "regex": _regex,
    "positive-int32": _positive_int32,
}


# Nova words a failed name format as exception.InvalidName; an error
# formatter can map `error.validator_value` (the format) to these texts.
FORMAT_MESSAGES = {
    "name": "An invalid 'name' value was provided. The name must be: "
            "printable characters. Can not start or end with whitespace.",
    "name_with_leading_trailing_spaces":
        "An invalid 'name' value was provided. The name must be: printable "
        "characters with at least one non space character",
}


def register_formats(checker):
    """Install the Nova-compatible format checks on a FormatChecker."""
    for fmt, func in FORMATS.items():
        checker.checks(fmt)(_strings_only(func))
    return checker


register_formats(wsgi._FORMAT_CHECKER)


# --- scalar types ---------------------------------------------------------

# Nova's parameter_types.boolean, spelling for spelling: anything else
# ("y", "t", "TRUE " ...) is a 400.
boolean = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on",
             "YES", "Yes", "yes",
             False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
             "NO", "No", "no"],
}

# A positive integer, or a string of digits whose value is at least 1
# ("0" and "00" are refused, as Nova's string-aware minimum does).
positive_integer = {
    "type": ["integer", "string"],
    "pattern": "^0*[1-9][0-9]*$", "minimum": 1, "minLength": 1,
}

non_negative_integer = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1,
}

# A block device size: 1..MAX_INT, as an integer or a string of digits.
volume_size = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]+$", "format": "positive-int32",
    "minimum": 1, "maximum": MAX_INT,
}

# A host or node name (services table, os-migrateLive host, create's `host`
# and `hypervisor_hostname`, and `hostname` from 2.94). Underscores are
# allowed because real deployments have them.
fqdn = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-._]*$",
}
host = fqdn

# A single DNS label (create/update `hostname` at 2.90-2.93): letters,
# digits and inner hyphens, 2-63 characters.
hostname = {
    "type": "string", "minLength": 2, "maxLength": 63,
    "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
}

# Server, key pair, security group and availability zone names.
name = {"type": "string", "minLength": 1, "maxLength": 255, "format": "name"}

# The legacy /v2 endpoint's names may have leading/trailing spaces.
name_with_leading_trailing_spaces = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "name_with_leading_trailing_spaces",
}

name_or_none = {
    "oneOf": [{"type": "string", "minLength": 1, "maxLength": 255},
              {"type": "null"}],
}

description = {
    "type": ["string", "null"], "minLength": 0, "maxLength": 255,
    "format": "printable",
}

uuid = {"type": "string", "format": "uuid"}
server_id = uuid
image_id = uuid
volume_id = uuid
network_id = uuid
port_id = uuid

# imageRef may be "" when booting from volume; the handler decides when an
# empty string is acceptable.
image_id_or_empty_string = {
    "oneOf": [{"type": "string", "format": "uuid"},
              {"type": "string", "maxLength": 0}],
}

# Flavor ids are strings (any, e.g. "1" or a uuid) or integers.
flavor_ref = {"type": ["string", "integer"], "minLength": 1}

# Never stored, so neither length nor character set is limited.
admin_password = {"type": "string"}

# Keys 1-255 of [a-zA-Z0-9-_:. ], values strings of at most 255.
METADATA_KEY = "^[a-zA-Z0-9-_:. ]{1,255}$"
metadata = {
    "type": "object",
    "patternProperties": {METADATA_KEY: {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}

ipv4 = {"type": "string", "format": "ipv4"}
ipv6 = {"type": "string", "format": "ipv6"}
ip_address = {"type": "string",
              "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
accessIPv4 = ipv4
accessIPv6 = ipv6

disk_config = {"type": "string", "enum": ["AUTO", "MANUAL"]}

user_data = {"type": "string", "format": "base64", "maxLength": 65535}

project_id = {"type": "string", "minLength": 1, "maxLength": 255,
              "pattern": "^[a-zA-Z0-9-]*$"}
user_id = project_id

tag = {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH,
       "pattern": "^[^,/]*$"}

tags = {"type": "array", "items": tag, "maxItems": MAX_TAG_COUNT}

# Up to 50 distinct certificate ids; null resets them (rebuild).
trusted_certs = {
    "type": ["array", "null"], "minItems": 1, "maxItems": 50,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}

volume_type = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}

personality = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"path": {"type": "string"},
                       "contents": {"type": "string", "format": "base64"}},
        "additionalProperties": False,
    },
}
