"""Text from outside (providers, clients) cut to the sizes a page, a log line or a cookie can hold."""


def truncated(text: str, limit: int) -> str:
    """The text, or its start and an ellipsis when it is longer than the limit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
