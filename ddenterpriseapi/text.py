"""Text from outside (providers, clients) cut to the sizes a page, a log line or a cookie can hold, and settings
typed one per line."""


def truncated(text: str, limit: int) -> str:
    """The text, or its start and an ellipsis when it is longer than the limit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lines(text: str | None) -> list[str]:
    """The non-blank lines of a one-per-line setting, trimmed."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
