"""axe-core on every page in every state (tests/browser/pages.py), and reflow at 320 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import ALL_PAGES, PageState, fill_and_submit, open_state, submit

# WCAG 2.2 A and AA: axe tags each rule with the version and level that introduced it.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
# WCAG 1.4.10 Reflow: content fits 320 CSS pixels without scrolling in two directions.
NARROW = 320

# The innermost elements, and the text (a long word that does not wrap), that stick out past
# the right edge outside any scrolling box.
_STICKING_OUT = """() => {
  const edge = document.documentElement.clientWidth;
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => { for (let up = el.parentElement; up; up = up.parentElement) {
    if (scrolls(up)) { return true; } } return false; };
  const out = [...document.body.querySelectorAll("*")].filter(
    (el) => el.getBoundingClientRect().right > edge + 0.5 && !inScroller(el));
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    if (range.getBoundingClientRect().right > edge + 0.5 && !inScroller(walker.currentNode)) {
      texts.push("text: " + walker.currentNode.parentElement.outerHTML.slice(0, 120));
    }
  }
  return out.filter((el) => !out.some((other) => other !== el && el.contains(other)))
    .map((el) => el.outerHTML.slice(0, 120)).concat(texts).slice(0, 5);
}"""


def assert_no_axe_violations(page, name: str) -> None:
    """axe finds no WCAG 2.2 A/AA violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    assert not results.violations_count, f"{name} ({page.url}):\n{results.generate_report()}"


def assert_reflows(page, name: str) -> None:
    """At 320 px wide nothing makes the page scroll sideways, and axe still finds nothing."""
    page.set_viewport_size({"width": NARROW, "height": 640})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW, f"{name}: {width} px wide at {NARROW}: {page.evaluate(_STICKING_OUT)}"
    assert_no_axe_violations(page, f"{name} at {NARROW} px")


@pytest.mark.parametrize("state", ALL_PAGES, ids=str)
def test_page_has_no_axe_violations_and_reflows_at_320px(page, live_server, world, state):
    open_state(page, live_server, world, state)
    expect(page.locator("h1")).to_have_count(1)
    if state.shows is not None:
        expect(page.locator(state.shows)).to_be_visible()
    assert_no_axe_violations(page, state.name)
    assert_reflows(page, state.name)


def test_first_admin_setup_page(page, live_server, app):
    """The one-time link `serve` prints, before any account exists, sent empty too."""
    from newsletter.accounts import issue_setup_token

    token = issue_setup_token()
    page.goto(live_server(f"/admin/setup/{token}"))
    assert_no_axe_violations(page, "first admin setup")
    submit(page)
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page, "first admin setup sent empty")
    assert_reflows(page, "first admin setup")


def test_empty_archive(page, live_server):
    """The archive before anything was sent to a public list."""
    page.goto(live_server("/archive"))
    expect(page.locator("main")).to_contain_text("Nothing has been sent yet")
    assert_no_axe_violations(page, "empty archive")
    assert_reflows(page, "empty archive")


class TestTooManyAttempts:
    """The 429 pages, with the limits turned on and set to one attempt."""

    @pytest.fixture
    def config_overrides(self):
        return {
            "RATELIMIT_ENABLED": True,
            "SIGNUP_RATE_PER_IP": "1 per hour",
            "LOGIN_RATE_PER_IP": "1 per hour",
        }

    @pytest.mark.parametrize(
        "state",
        [
            PageState(
                "sign-up, too many",
                "/subscribe",
                act=fill_and_submit(Email_address="eve@example.com"),
            ),
            PageState(
                "sign-in, too many",
                "/admin/login",
                act=fill_and_submit(Email_address="eve@example.org", Password="wrong password"),
            ),
        ],
        ids=str,
    )
    def test_page_has_no_axe_violations_and_reflows(self, page, live_server, world, state):
        for _ in range(2):
            open_state(page, live_server, world, state)
        expect(page.locator("main")).to_contain_text(re.compile("too many", re.IGNORECASE))
        assert_no_axe_violations(page, state.name)
        assert_reflows(page, state.name)
