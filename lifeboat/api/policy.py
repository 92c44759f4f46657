"""oslo.policy enforcement with Nova's rule names and defaults.

Rules are declared per resource in api/policies/; this module builds the
enforcer once and offers `authorize`, which raises PolicyNotAuthorized (403).
"""
import threading

from oslo_policy import policy as oslo_policy

from lifeboat import exception
from lifeboat.conf import CONF

_enforcer = None
_lock = threading.Lock()


def _rules():
    from lifeboat.api.policies import ALL_RULES
    return ALL_RULES


def get_enforcer():
    global _enforcer
    if _enforcer is None:
        with _lock:
            if _enforcer is None:
                enforcer = oslo_policy.Enforcer(CONF, policy_file=CONF.api.policy_file,
                                                use_conf=True)
                enforcer.register_defaults(_rules())
                enforcer.load_rules()
                _enforcer = enforcer
    return _enforcer


def reset():
    global _enforcer
    _enforcer = None


def check(context, rule, target=None):
    """True if `context` may do `rule` on `target` (default: its own project)."""
    target = target or {"project_id": context.project_id, "user_id": context.user_id}
    creds = context.to_policy_values()
    return get_enforcer().enforce(rule, target, creds)


def authorize(context, rule, target=None):
    if not check(context, rule, target):
        raise exception.PolicyNotAuthorized(action=rule)
