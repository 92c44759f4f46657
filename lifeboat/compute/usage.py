"""When a compute host's usage is audited again (see ComputeManager.report)."""
import functools


def changes_usage(method):
    """Marks a compute RPC method that can put an instance on this host, take
    one off, or claim or release room for an incoming migration: the next
    heartbeat re-audits the host's usage instead of waiting for the periodic
    audit. Marked before (a heartbeat during the method audits a half-done
    change) and again after, so the finished change is audited too."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self.usage_changed = True
        try:
            return method(self, *args, **kwargs)
        finally:
            self.usage_changed = True
    return wrapper
