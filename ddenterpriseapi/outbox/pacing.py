"""Keeping to the provider's sending rate instead of hitting it: messages spaced evenly, the rate shared by the
running workers, and halved for a while each time the server says to slow down."""

import threading
import time

SLOWDOWN_SECONDS = 600  # how long a throttling reply keeps the rate lowered
MAX_SLOWDOWN = 8


class Pacer:
    """Spaces this worker's messages: 60 / rate seconds apart, times the number of workers, times the slowdown."""

    def __init__(self, rate_per_minute: int | None, workers: int = 1):
        self.rate, self.workers = rate_per_minute, max(workers, 1)
        self.slowdown, self.slowed_until = 1, 0.0
        self.next_slot = 0.0

    def interval(self) -> float:
        if not self.rate:
            return 0.0
        if time.monotonic() > self.slowed_until:
            self.slowdown = 1
        return 60 / self.rate * self.workers * self.slowdown

    def wait(self, stop: threading.Event) -> bool:
        """Wait for this worker's next slot; False if told to stop meanwhile."""
        if stop.wait(max(self.next_slot - time.monotonic(), 0)):
            return False
        self.next_slot = max(self.next_slot, time.monotonic()) + self.interval()
        return True

    def throttled(self) -> None:
        """The server said to slow down: halve the rate for a while (down to an eighth)."""
        self.slowdown = min(self.slowdown * 2, MAX_SLOWDOWN)
        self.slowed_until = time.monotonic() + SLOWDOWN_SECONDS
        self.next_slot = time.monotonic() + self.interval()
