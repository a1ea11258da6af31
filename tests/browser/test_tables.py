"""Tables on narrow screens and in longer languages: words wrap at spaces, times and addresses stay whole, and a
table too wide for its card scrolls inside it, never the page."""

import pytest

from tests.browser.helpers import Shots
from tests.browser.test_pages import PAGES, logged_in_at
from tests.helpers import AuthActions, add_outbox_message, create_api_key

pytestmark = pytest.mark.browser

BROKEN_CELLS = """() => {
  const onSeveralLines = rects => new Set([...rects].map(rect => Math.round(rect.top))).size > 1;
  const broken = [];
  for (const cell of document.querySelectorAll('td, th')) {
    if (cell.closest('.sr-only')) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
      for (const word of node.data.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        if (onSeveralLines(range.getClientRects())) broken.push(word[0]);
      }
    }
  }
  for (const whole of document.querySelectorAll('td time, td.nowrap')) {
    if (onSeveralLines(whole.getClientRects())) broken.push(whole.textContent);
  }
  return broken;
}"""


@pytest.fixture
def filled(live, authorized):
    """Every table has rows: an API key, outbox messages with long words, a failed one with its attempts."""
    client = live.app.test_client()
    AuthActions(live.app, client).login()
    create_api_key(client, name="nightly-reporting-server")
    add_outbox_message(live.app, "queued", subject="Quarterly consolidated accountability reconciliation")
    return add_outbox_message(live.app, "failed", attempts=[("deferred", "451 4.3.0 Temporary failure, try later"),
                                                            ("failed", "550 5.1.1 The mailbox is unavailable")])


@pytest.mark.parametrize("width, language", [(360, "en"), (360, "fr"), (1280, "fr")])
def test_tables_wrap_at_spaces_and_scroll_inside_their_card(browser, live, filled, width, language):
    with logged_in_at(browser, live, width, language) as page:
        shot = Shots(page, f"tables-{width}-{language}")
        for path in [*PAGES, f"/outbox/{filled}"]:
            page.goto(live.url + path)
            shot(path.strip("/").replace("/", "-") or "dashboard")
            assert page.evaluate(BROKEN_CELLS) == [], path
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
