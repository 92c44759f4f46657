"""Reading a guest's serial console log (the guests of guest_images.py)."""
import re
import time


class Console:
    """The console.log of one guest on one host (a path seen from here)."""

    def __init__(self, path):
        self.path = path

    def text(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def count(self, marker):
        return self.text().count(marker)

    def ticks(self, prefix="tick"):
        return [int(n) for n in re.findall(r"^%s (\d+)" % prefix, self.text(), re.M)]

    def last_tick(self, prefix="tick"):
        ticks = self.ticks(prefix)
        return ticks[-1] if ticks else 0

    def wait_for(self, predicate, what, timeout=60.0):
        """Wait until predicate(text) is true; fail naming `what` and the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError("console %s: timed out after %.0fs waiting for %s; "
                             "last lines:\n%s" % (self.path, timeout, what,
                                                  "\n".join(self.text().splitlines()[-15:])))

    def wait_count(self, marker, n, timeout=60.0):
        return self.wait_for(lambda t: t.count(marker) >= n,
                             "%d x %r" % (n, marker), timeout)

    def wait_tick(self, n, prefix="tick", timeout=60.0):
        return self.wait_for(lambda t: re.search(r"^%s %d\b" % (prefix, n), t, re.M),
                             "%s %d" % (prefix, n), timeout)

    def section(self, marker, nth):
        """The text after the nth (1-based) occurrence of `marker`, or None."""
        parts = self.text().split(marker)
        return parts[nth] if len(parts) > nth else None

    def wait_in_section(self, marker, nth, pattern, timeout=60.0):
        """Wait until boot number `nth` (counted by `marker`) printed `pattern`."""
        def ok(_text):
            part = self.section(marker, nth)
            return part is not None and re.search(pattern, part, re.M)
        self.wait_for(ok, "%r after %s #%d" % (pattern, marker, nth), timeout)
        return self.section(marker, nth)
