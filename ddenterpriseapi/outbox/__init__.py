"""The outbox: messages accepted for delivery, committed before anyone hears "accepted", and the worker that
delivers them with retries, pacing and alerts."""
