"""The Drainer's side of the drain marker: claiming, watching, releasing it.

`ClaimMixin` holds the methods that disable the service with our `Marker`
(refusing a live drain's marker unless forced, and reading it back `settle`
seconds later, while the host is listed, to catch a concurrent claim), check
every few seconds that the marker is still ours (an undrain or another drain
stops us starting migrations), and take it out of the reason at the end. A mixin of `Drainer` (drainer.py): it uses the
drainer's attributes (cloud, host, reason, force, settle, marker, observer,
_stop, ...).
"""
import time

from lifeboat.cli.connection import ApiError, CliError
from lifeboat.cli.drain.cloud import get_service, set_service
from lifeboat.cli.drain.marker import DEFAULT_REASON, REASON_MAX, Marker
from lifeboat.cli.drain.report import DrainBusy


class ClaimMixin:
    """Drainer methods for the drain marker (see the module docstring)."""

    # --- the marker -----------------------------------------------------------
    def _claim(self, service):
        existing = Marker.parse(service.get("disabled_reason"))
        disabled = service.get("status") == "disabled"
        base_reason = None
        if existing and disabled:
            liveness = existing.liveness()
            if liveness == "dead":
                self.observer.event("Taking over the marker of a drain that is no "
                                    "longer running (%s)." % existing.describe())
            elif self.force:
                self.observer.event("--force: overriding the marker of the drain "
                                    "of %s (%s)." % (self.host, existing.describe()))
            else:
                raise DrainBusy(
                    "%s is already being drained (%s%s). Wait for that drain to "
                    "end, or stop it with Ctrl-C; if it is not running any more, "
                    "re-run with --force." % (
                        self.host, existing.describe(),
                        "" if liveness == "alive" else ", on another machine"))
            base_reason = existing.reason
        elif disabled:
            base_reason = service.get("disabled_reason")
        reason = self.reason or base_reason or DEFAULT_REASON
        self.marker = Marker.new(reason[:REASON_MAX])
        set_service(self.cloud, service, disabled=True, reason=self.marker.text())
        self._claimed_at = time.monotonic()

    def _confirm_claim(self):
        """Read the service back once `settle` seconds have passed since our
        claim (the caller lists the host meanwhile): a drain that claimed at
        the same moment and wrote after us is seen here, and we leave the host
        to it before starting anything."""
        left = self._claimed_at + (self.settle or 0) - time.monotonic()
        if left > 0:
            time.sleep(left)
        now = get_service(self.cloud, self.host)
        if now.get("disabled_reason") != self.marker.text():
            other = Marker.parse(now.get("disabled_reason"))
            self.marker = None
            raise DrainBusy("%s was claimed by another drain at the same time (%s); "
                            "leaving it to that one." % (
                                self.host, other.describe() if other else
                                "disabled reason now %r" % now.get("disabled_reason")))
        self._marker_checked = time.monotonic()
        self.observer.event("Compute service of %s disabled: %s" % (
            self.host, self.marker.text()))

    def _check_marker(self, force=False):
        if self.marker is None:
            return
        now = time.monotonic()
        if not force and now - self._marker_checked < self.marker_check_interval:
            return
        self._marker_checked = now
        try:
            service = get_service(self.cloud, self.host)
        except (ApiError, CliError) as e:
            self.observer.event("Could not check the drain marker: %s" % e)
            return
        if service.get("disabled_reason") == self.marker.text():
            return
        if service.get("status") == "enabled":
            why = "the compute service of %s was re-enabled (undrain)" % self.host
        else:
            other = Marker.parse(service.get("disabled_reason"))
            why = "another drain took over %s (%s)" % (
                self.host, other.describe() if other else "disabled reason now %r"
                % service.get("disabled_reason"))
        self.marker = None
        if not self._stop.is_set():
            self.stop_reason = why
            self._stop.set()
            self.observer.event("Stopping: %s; no new migrations will start." % why)

    def _release(self):
        """Remove our marker from the reason; the service stays disabled."""
        if self.marker is None:
            return
        try:
            service = get_service(self.cloud, self.host)
            if service.get("disabled_reason") == self.marker.text():
                set_service(self.cloud, service, disabled=True,
                            reason=self.marker.reason or DEFAULT_REASON)
        except (ApiError, CliError) as e:
            self.observer.event("Could not remove the drain marker: %s" % e)
        except Exception as e:  # the API went away: say so, keep the result
            self.observer.event("Could not remove the drain marker: %s" % e)
