"""The Drainer's handling of one live migration, from request to outcome.

`MigrationMixin` holds the methods that request os-migrateLive, read a
refusal (busy: wait; destination cannot take rescued instances: choose
another; ...), retry a failed migration once on another host, poll the
server and its migration record until the migration ends, work out where it
went and why it failed, and abort running migrations on request.

Noticing ends quickly (`_noticed_ends`): one
GET /os-migrations?source_compute=HOST&migration_type=live-migration&
changes-since=T (2.59+) shows which of the host's migrations changed; one of
ours in a final status is followed up at once, so its slot is refilled within
about `notice_interval` whatever `poll_interval` is (the per-server look, which
also catches what the migration records cannot show, such as a deleted
server). T is kept in the API's clock (the records' own timestamps, less
`FEED_MARGIN`), so the client's clock does not matter. The feed asks every
`notice_interval` only while a migration may end (`_next_feed`): while every
migration in flight is younger than the quickest this drain has seen
complete, it waits for the first of them to come due, and one that runs far
longer is asked about at the slower pace of before, so a drain of migrations
of minutes does not ask twenty times a second all along.

A mixin of `Drainer` (drainer.py): it uses the drainer's attributes and its
`_choose`, `_finish`, `_wait`, `_classify` and `_label`.
"""
import datetime
import re
import time

from lifeboat.cli.connection import ApiError
from lifeboat.cli.drain.cloud import (
    CHANGES_SINCE_MICROVERSION, HOST, LIVE_VM_STATES, TASK_STATE, _pages, _vm_state,
    live_migrations_from)
from lifeboat.cli.drain.report import (
    ABORTED, FAILED, GONE, MIGRATED, NOT_MIGRATABLE, TIMED_OUT, Attempt, _seconds)
from lifeboat.cli.servers import live_migration_body

FINAL_MIGRATION_STATUSES = ("completed", "failed", "error", "cancelled", "done")
_DEST_UNSUPPORTED = re.compile(r"not supported by the destination compute node "
                               r"(\S+?)\.?\s*$")
# How far back of the newest change seen the next changes-since starts: a record
# updated a moment before another but committed after it is not missed.
FEED_MARGIN = datetime.timedelta(seconds=2)
# A migration in flight may end once its age reaches DUE_SHARE of the quickest
# one this drain has seen complete (see _next_feed); until then the feed waits,
# QUIET_NOTICE_FACTOR x notice_interval at most. Past OVERDUE_SHARE of it, its
# end is no longer expected any moment: the feed asks every
# OVERDUE_NOTICE_FACTOR x notice_interval (0.1 s by default: the steady pace
# that a drain kept before it paced itself by due ends).
DUE_SHARE = 0.9
OVERDUE_SHARE = 2.0
QUIET_NOTICE_FACTOR = 20
OVERDUE_NOTICE_FACTOR = 2
# Seconds between two looks at a running migration's progress while the feed
# notices ends (see _look_interval), and when nothing shows the progress.
FEED_LOOK_INTERVAL = 1.0
QUIET_LOOK_INTERVAL = 10.0
# A newest-migration id fetched ahead of a start is used for this long, and
# the cloud's newest (2.59+, see _known_max_id) is read again after as long.
KNOWN_AHEAD_MAX_AGE = 60.0


def _api_time(text):
    """A timestamp as the API shows it ("2025-01-02T03:04:05.000000"), naive UTC."""
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


class MigrationMixin:
    """Drainer methods for one migration (see the module docstring)."""

    # --- one migration --------------------------------------------------------------
    def _known_max_id(self, server_id):
        """An id at least as large as that of every migration `server_id` has
        now: what tells our coming migration's record from its earlier ones.

        At 2.59+ it is the cloud's newest migration id, read at most every
        KNOWN_AHEAD_MAX_AGE and shared by every start meanwhile (one
        request instead of one per start, the slowest request of a drain).
        Stale, it is only lower than it could be: our record is then still the
        newest of the server's above it. Below 2.59, the server's own newest."""
        if self.cloud.at_least(CHANGES_SINCE_MICROVERSION):
            now = time.monotonic()
            if self._floor_at is None or now - self._floor_at >= KNOWN_AHEAD_MAX_AGE:
                try:
                    newest = self.cloud.get("/os-migrations?limit=1").get("migrations", [])
                except ApiError:
                    return None
                self._floor = max((m["id"] for m in newest), default=0)
                self._floor_at = now
            return self._floor
        try:
            records = _pages(self.cloud, "/os-migrations?instance_uuid=%s" % server_id,
                             "migrations")
        except ApiError:
            return None
        return max((m["id"] for m in records), default=0)

    def _start(self, report):
        """Request the live migration of `report`. False if it must wait for
        room on the destinations (nothing else can start either)."""
        dest, problem = self._choose(report)
        if dest == "":
            return False
        if problem:
            self._finish(report, FAILED, error=self._join_errors(report, problem))
            return True
        known = self._known_for(report)
        self._requested(report, dest, known, self._request_migration(report, dest))
        return True

    def _start_together(self, reports):
        """Request the live migrations of `reports`, first attempts the
        scheduler places (nothing to choose, nothing reserved), with their
        requests in flight at once: against a busy cloud each os-migrateLive
        takes tens of milliseconds, and refilling 16 slots one request after
        the other held the slots empty for most of a second."""
        knowns = [self._known_for(r) for r in reports]
        errors = self._together(lambda r: self._request_migration(r, None), reports)
        for report, known, error in zip(reports, knowns, errors):
            self._requested(report, None, known, error)

    def _known_for(self, report):
        if report.known_ahead is not None and \
                time.monotonic() - report.known_ahead_at < KNOWN_AHEAD_MAX_AGE:
            known = report.known_ahead
        else:
            known = self._known_max_id(report.id)
        report.known_ahead = report.known_ahead_at = None
        return known

    def _request_migration(self, report, dest):
        """POST os-migrateLive; the ApiError of a refusal, None if accepted.
        Only the request: safe to run on the request threads."""
        body = live_migration_body(self.cloud, dest, self.block_migration)
        try:
            self.cloud.post("/servers/%s/action" % report.id,
                            json={"os-migrateLive": body})
        except ApiError as e:
            return e
        return None

    def _requested(self, report, dest, known, error):
        """Record the answer to our os-migrateLive request for `report`."""
        if error is not None:
            self._refused(report, dest, error)
            return
        now = time.monotonic()
        report.state = "migrating"
        report.started_at = report.started_at or now
        report.attempt_started = now
        report.known_id = known
        report.migration_id = None
        report.migration_status = "accepted"
        report.current_destination = dest
        report.memory_total = report.memory_processed = None
        report.end_pending_since = None
        report.ended_record = None
        report.next_look = now + self._look_interval(report)
        report.attempts.append(Attempt(requested=dest))
        if dest:
            self._reserved[dest] = self._reserved.get(dest, 0) + (report.ram_mb or 0)
            report.reserved_on = dest
        self.observer.event("%s: %s live migration %s -> %s accepted." % (
            self._label(report), report.status_before, report.source,
            dest or "(scheduler)"))
        self.observer.update(report)

    def _fetch_ahead(self):
        """While the slots are busy, fetch what the next start needs (the
        newest migration id the next pending instance already has), so that a
        freed slot is refilled with the migration request alone."""
        if self._stop.is_set() or not self.wait:
            return
        report = next((r for r in self.reports.values() if r.state == "pending"),
                      None)
        if report is None or report.known_ahead_at is not None:
            return          # none, or fetched (or tried) already
        report.known_ahead = self._known_max_id(report.id)
        report.known_ahead_at = time.monotonic()

    def _join_errors(self, report, last):
        earlier = [a.error for a in report.attempts if a.error]
        return "; ".join(earlier + [last]) if earlier else last

    def _refused(self, report, dest, error):
        message = error.message
        if error.status == 409 and "task_state" in message:
            self._wait(report, "busy: %s" % message,
                       on_migration="task_state migrating" in message)
            return
        if error.status == 404:
            self._finish(report, GONE, error=message)
            return
        unsupported = _DEST_UNSUPPORTED.search(message)
        if error.status == 400 and unsupported and dest:
            self._incapable.add(unsupported.group(1))
            report.excluded.add(dest)
            report.attempts.append(Attempt(requested=dest, status="refused",
                                           error=message))
            self.observer.event("%s: %s cannot take rescued instances; choosing "
                                "another destination." % (self._label(report), dest))
            report.state = "pending"
            return
        if error.status == 400 and "source compute node" in message:
            self._finish(report, NOT_MIGRATABLE, error=message)
            return
        if error.status == 409:
            try:
                server = self.cloud.get("/servers/%s" % report.id)["server"]
            except ApiError:
                server = None
            if server is not None and _vm_state(server) not in LIVE_VM_STATES:
                report.status_after = server.get("status")
                self._finish(report, NOT_MIGRATABLE, error=message)
                return
        report.attempts.append(Attempt(requested=dest, status="refused", error=message))
        self._failed(report, dest, message)

    def _failed(self, report, dest, message):
        """An attempt failed: retry once on another host, else report it."""
        if dest:
            report.excluded.add(dest)
        report.failures += 1
        if report.failures <= 1 and not self._stop.is_set():
            self.observer.event("%s: migration%s failed (%s); retrying on another "
                                "destination." % (self._label(report),
                                                  " to %s" % dest if dest else "",
                                                  message))
            report.state = "pending"
            return
        self._finish(report, FAILED, error=self._join_errors(report, message))

    def _poll(self, report, ended_by_feed=False):
        progress_read = self._progress_first(report, ended_by_feed)
        if progress_read and self._progress(report) not in FINAL_MIGRATION_STATUSES:
            self._check_attempt_timeout(report)
            return
        try:
            server = self._read("/servers/%s" % report.id)["server"]
        except ApiError as e:
            if e.status == 404:
                self._release_reservation(report)
                self._finish(report, GONE, error="deleted during the drain")
            else:
                self.observer.event("%s: %s" % (self._label(report), e))
            return
        ended = server.get(TASK_STATE) is None and server.get("status") != "MIGRATING"
        now = time.monotonic()
        if report.state == "waiting":
            if ended:
                if server.get(HOST) != report.source:
                    self.observer.event("%s: now on %s (moved by another "
                                        "migration)." % (self._label(report),
                                                         server.get(HOST)))
                    self._finish(report, MIGRATED, destination=server.get(HOST),
                                 status_after=server.get("status"))
                else:
                    self._classify(report, server)
            elif now - report.wait_started > self.timeout:
                self._finish(report, TIMED_OUT, error="still %s after %ss" % (
                    report.waiting_for, self.timeout))
            return
        if ended:
            self._ended(report, server)
            return
        if not progress_read:
            self._progress(report)
        self._check_attempt_timeout(report)

    def _check_attempt_timeout(self, report):
        if time.monotonic() - report.attempt_started > self.timeout:
            self._release_reservation(report)
            self._finish(report, TIMED_OUT, error=(
                "migration still %s after %ss; left running" % (
                    report.migration_status, self.timeout)))

    def _progress(self, report):
        """Progress of our migration of `report` from its record (2.23+), into
        the report and the display. Returns the record's status, or None when
        there is no record to read (none yet, an error, or below 2.23)."""
        if not self.cloud.at_least("2.23"):
            return None
        try:
            current = self._read(self._progress_url(report)).get("migrations", [])
        except ApiError:
            return None
        ours = [m for m in current if report.known_id is None
                or m["id"] > report.known_id]
        if not ours:
            return None
        m = max(ours, key=lambda m: m["id"])
        report.migration_id = m["id"]
        report.migration_status = m.get("status")
        report.current_destination = m.get("dest_compute") or \
            report.current_destination
        report.memory_total = m.get("memory_total_bytes")
        report.memory_processed = m.get("memory_processed_bytes")
        self.observer.update(report)
        return report.migration_status

    def _progress_url(self, report):
        return "/servers/%s/migrations" % report.id

    def _progress_first(self, report, ended_by_feed):
        """Whether a look at `report` reads its migration record first. While
        the feed notices ends (2.59+, so the record's progress is shown), a
        look at a running migration is its record alone (progress, and whether
        it ended after all); the server is read once the record is final or
        cannot be found."""
        return report.state == "migrating" and not ended_by_feed and self._feed_on()

    def _first_read(self, report, ended_by_feed):
        """The URL `_poll(report, ended_by_feed)` reads first (see _look)."""
        if self._progress_first(report, ended_by_feed):
            return self._progress_url(report)
        return "/servers/%s" % report.id

    # --- noticing ends -----------------------------------------------------------------
    def _feed_on(self):
        return bool(self.notice_interval) and not self._feed_off and \
            self.cloud.at_least(CHANGES_SINCE_MICROVERSION)

    def _look_interval(self, report):
        """Seconds to the next look at `report`. A running migration whose end
        the feed will show is looked at for its progress only, at most every
        FEED_LOOK_INTERVAL: at 16 in flight, looks every 0.5 s were a third
        of a drain's requests, each holding up the refill of a slot. When no
        display shows the progress (the observer's wants_progress), every
        QUIET_LOOK_INTERVAL: such a look only catches what the feed cannot
        show (a deleted server, a record that never turns final)."""
        if report.state == "migrating" and self._feed_on():
            every = FEED_LOOK_INTERVAL if self.observer.wants_progress \
                else QUIET_LOOK_INTERVAL
            return max(self.poll_interval, every)
        return self.poll_interval

    def _round_interval(self):
        """Seconds between two rounds of the loop."""
        if self._feed_on():
            return min(self.poll_interval, self.notice_interval)
        return self.poll_interval

    def _noticed_ends(self):
        """Ids of the instances in flight whose migration the feed shows in a
        final status (one request for all of them, at most every
        notice_interval). Empty when the feed is off or not due."""
        if not self._feed_on():
            return set()
        watched = {r.id: r for r in self.reports.values()
                   if r.state == "migrating" or
                   (r.state == "waiting" and r.waiting_on_migration)}
        now = time.monotonic()
        if not watched or now < self._feed_due:
            return set()
        self._feed_due = now + self.notice_interval
        since = self._feed_since
        try:
            records = live_migrations_from(
                self.cloud, self.host,
                None if since is None else
                since.isoformat(timespec="microseconds") + "Z")
        except ApiError as e:
            if e.status is not None and 400 <= e.status < 500:
                # Refused (policy, a cloud without these filters): do without.
                self._feed_off = True
                self.observer.event("Cannot follow /os-migrations (%s); looking at "
                                    "each migrating server every %ss instead." % (
                                        e, self.poll_interval))
            return set()
        self._advance_feed(records, start=since is None)
        ended = set()
        for m in sorted(records, key=lambda m: m.get("id") or 0):
            report = watched.get(m.get("instance_uuid"))
            if report is None or m.get("status") not in FINAL_MIGRATION_STATUSES or \
                    m.get("migration_type", "live-migration") != "live-migration":
                continue
            if report.known_id is not None and m["id"] <= report.known_id:
                continue
            if report.state == "migrating":
                report.ended_record = m
                took = now - report.attempt_started
                if m.get("status") in ("completed", "done") and \
                        (self._quickest is None or took < self._quickest):
                    self._quickest = took
            ended.add(report.id)
        self._feed_due = self._next_feed(
            [r for r in watched.values() if r.id not in ended], now)
        return ended

    def _next_feed(self, watched, now):
        """When the feed asks next. Every notice_interval while one of the
        `watched` reports' migrations may end: its age is between DUE_SHARE
        and OVERDUE_SHARE of the quickest completed so far, or nothing is
        known yet (no end seen, or a migration we wait for, started by
        others). Otherwise when the first comes due, QUIET_NOTICE_FACTOR x
        notice_interval at the latest, and every OVERDUE_NOTICE_FACTOR x
        notice_interval while one is overdue."""
        quickest = self._quickest
        if quickest is None or not watched:
            return now + self.notice_interval
        wait = QUIET_NOTICE_FACTOR * self.notice_interval
        for report in watched:
            if report.state != "migrating":
                return now + self.notice_interval
            age = now - report.attempt_started
            if age < DUE_SHARE * quickest:
                wait = min(wait, DUE_SHARE * quickest - age)
            elif age < OVERDUE_SHARE * quickest:
                return now + self.notice_interval
            else:
                wait = min(wait, OVERDUE_NOTICE_FACTOR * self.notice_interval)
        return now + max(self.notice_interval, wait)

    def _advance_feed(self, records, start):
        """The next changes-since: the newest change seen, less FEED_MARGIN. At
        the start (the newest migration only) from when it was created."""
        stamps = [_api_time(m.get("created_at") if start else
                            (m.get("updated_at") or m.get("created_at")))
                  for m in records]
        stamps = [t for t in stamps if t is not None]
        if not stamps:
            return
        since = max(stamps) - FEED_MARGIN
        if self._feed_since is None or since > self._feed_since:
            self._feed_since = since

    def _our_migration(self, report):
        if report.ended_record is not None:
            return report.ended_record      # the feed just showed it, final
        try:
            records = _pages(self.cloud, "/os-migrations?instance_uuid=%s" % report.id,
                             "migrations")
        except ApiError:
            return None
        ours = [m for m in records
                if m.get("migration_type", "live-migration") == "live-migration"
                and (report.known_id is None or m["id"] > report.known_id)]
        return max(ours, key=lambda m: m["id"]) if ours else None

    def _release_reservation(self, report):
        dest, report.reserved_on = report.reserved_on, None
        if dest and dest in self._reserved:
            self._reserved[dest] = max(0, self._reserved[dest] - (report.ram_mb or 0))

    def _ended(self, report, server):
        migration = self._our_migration(report)
        status = migration.get("status") if migration else None
        if migration is not None and status not in FINAL_MIGRATION_STATUSES:
            # The server is settled a moment before its migration record
            # (as in Nova): wait for the record, briefly, so that what we
            # report and start next matches /os-migrations.
            now = time.monotonic()
            report.end_pending_since = report.end_pending_since or now
            if now - report.end_pending_since < 30:
                return
        self._release_reservation(report)
        attempt = report.attempts[-1] if report.attempts else Attempt(None)
        if migration is not None:
            attempt.migration_id = migration["id"]
            attempt.status = status
            attempt.destination = migration.get("dest_compute")
        host_after = server.get(HOST)
        if host_after and host_after != report.source:
            kept = server.get("status") == report.status_before
            self._finish(report, MIGRATED, destination=host_after,
                         status_after=server.get("status"),
                         error=None if kept else "now %s (was %s)%s" % (
                             server.get("status"), report.status_before,
                             self._failure_detail(report, server)))
            self.observer.event("%s: %s -> %s %s (%s)." % (
                self._label(report), report.source, host_after,
                "completed" if kept else "moved, but " + report.error,
                _seconds(report.duration)))
            return
        report.status_after = server.get("status")
        message = "migration %s %s%s" % (
            migration["id"] if migration else "?", status or "ended",
            " on %s" % attempt.destination if attempt.destination else "")
        message += self._failure_detail(report, server)
        attempt.error = message
        if report.abort_sent:
            self._finish(report, ABORTED, error=message)
            return
        self._failed(report, attempt.destination or attempt.requested, message)

    def _failure_detail(self, report, server):
        """': <why>' from the server's fault or the live-migration action's
        failed event (its details are shown at 2.84+)."""
        fault = (server.get("fault") or {}).get("message")
        if fault:
            return ": %s" % fault
        try:
            actions = self.cloud.get("/servers/%s/os-instance-actions" % report.id)
            lm = [a for a in actions.get("instanceActions", [])
                  if a.get("action") == "live-migration"]
            if not lm:
                return ""
            newest = lm[0]        # newest first, as Nova lists them
            body = self.cloud.get("/servers/%s/os-instance-actions/%s" % (
                report.id, newest["request_id"]))
            for event in body.get("instanceAction", {}).get("events", []):
                if event.get("result") == "Error":
                    detail = event.get("details") or event.get("event")
                    return ": %s" % detail
        except (ApiError, KeyError, TypeError):
            pass
        return ""

    def _abort_running(self):
        for report in self.reports.values():
            if report.state != "migrating" or report.abort_sent:
                continue
            if report.migration_id is None:
                self._progress(report)
            if report.migration_id is None:
                continue          # not started yet (accepted): next round
            try:
                self.cloud.delete("/servers/%s/migrations/%s" % (
                    report.id, report.migration_id))
            except ApiError as e:
                if e.status in (400, 409):
                    continue      # not abortable in this state yet: next round
                self.observer.event("%s: abort failed: %s" % (self._label(report), e))
                report.abort_sent = True
                continue
            report.abort_sent = True
            self.observer.event("%s: abort of migration %s requested." % (
                self._label(report), report.migration_id))
