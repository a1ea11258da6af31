"""Sentences kept as data, a stable code and its values, and worded in the language of whoever reads them: an error
met while the console spoke French reads in English on an English reader's audit page.

Each module that words such sentences registers them under codes that never change meaning. A value is data shown
as received (a server's reply, an address, a number), or a sentence itself.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import LazyString

Wording = LazyString | Callable[..., str]
SENTENCES: dict[str, Wording] = {}


def sentences(wordings: Mapping[str, Wording]) -> Mapping[str, Wording]:
    """Make these codes known to every reader of stored sentences."""
    taken = SENTENCES.keys() & wordings.keys()
    if taken:
        raise ValueError(f"sentence codes registered twice: {', '.join(sorted(taken))}")
    SENTENCES.update(wordings)
    return wordings


@dataclass(frozen=True)
class Said:
    """A sentence as its code and values, worded when shown: str() says it in the language of the moment."""

    code: str
    values: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        wording = SENTENCES.get(self.code)
        if wording is None:  # a code from a later version, or one retired since: its values are still worth seeing
            return " ".join(str(value) for value in self.values.values())
        if isinstance(wording, LazyString):
            return str(wording) % Values(self.values)
        return wording(**self.values)

    def shown(self) -> str:
        """The sentence as a stored one is shown: one whose values no longer fit its code (written by another
        version) shows them as they are rather than break the page."""
        try:
            return str(self)
        except (TypeError, ValueError):
            return " ".join(str(value) for value in self.values.values())

    def data(self) -> dict:
        """The values as JSON can keep them; sentences among them become {"said": code, "values": {...}}."""
        return {name: encoded(value) for name, value in self.values.items()}

    @classmethod
    def from_data(cls, code: str, values: Mapping | None) -> "Said":
        return cls(code, {name: decoded(value) for name, value in (values or {}).items()})


class Values(dict):
    """A sentence's values; one left out (None) is said as nothing."""

    def __missing__(self, name: str) -> str:
        return ""


def said(code: str, **values) -> Said:
    """A registered sentence with its values (None values left out)."""
    return Said(code, {name: value for name, value in values.items() if value is not None})


def joined(*parts: "Said | str | None") -> Said:
    """Sentences said one after the other (empty parts left out)."""
    return Said("joined", {"parts": [part for part in parts if part]})


def text(message: str) -> Said:
    """Text already worded, kept as it is: a message nobody gave a code yet, in the language it was said in."""
    return Said("text", {"text": message})


def encoded(value):
    if isinstance(value, Said):
        return {"said": value.code, "values": value.data()}
    if isinstance(value, list | tuple):
        return [encoded(item) for item in value]
    if isinstance(value, LazyString):
        return str(value)
    return value


def decoded(value):
    if isinstance(value, dict) and "said" in value:
        return Said.from_data(value["said"], value.get("values"))
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def stored(sentence: Said) -> str:
    """A sentence as a text column keeps it, to be worded when read."""
    return json.dumps(encoded(sentence))


def read_stored(column: str | None) -> Said | None:
    """A sentence kept by stored(); text stored before sentences were kept as data reads as that text."""
    if not column:
        return None
    try:
        value = decoded(json.loads(column))
    except ValueError:
        value = None
    return value if isinstance(value, Said) else text(column)


sentences({
    "joined": lambda parts: " ".join(str(part) for part in parts),
    "text": lambda text: text,
})
