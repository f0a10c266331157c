"""Keyboard only: the sign-up journey with Tab, Space and Enter, focus visible at every stop."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import heading, link_in

# What a person sees of the focused element: an outline or a box shadow (the house style uses
# both), on an element that is on screen.
_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return "nothing has focus"; }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
    && box.left < innerWidth && box.top < innerHeight;
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + " " + (el.textContent || el.value || "").trim().slice(0, 40);
  if (!(outline || shadow)) { return name + ": no visible focus indicator"; }
  if (!onScreen) { return name + ": focused but off screen"; }
  return "";
}"""


def assert_focus_visible(page) -> None:
    problem = page.evaluate(_FOCUS)
    assert not problem, problem


def tab_to(page, selector: str, steps: int = 25) -> None:
    """Press Tab until the element matching `selector` has focus; focus is visible each time."""
    for _ in range(steps):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {steps} presses of Tab")


def test_sign_up_and_confirm_with_the_keyboard_alone(page, live_server, news, jobs):
    page.goto(live_server("/subscribe"))
    # The first Tab reaches the skip link, and Enter moves to the main content.
    tab_to(page, ".skip-link", steps=1)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    tab_to(page, "#email")
    page.keyboard.type("ann@example.com")
    tab_to(page, "#name")
    page.keyboard.type("Ann")
    tab_to(page, "input[type=checkbox][value=jobs]")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Check your email")

    (message,) = live_server.sink.wait_for(1)
    page.goto(link_in(message, live_server, "confirm"))
    expect(heading(page)).to_have_text("Confirm your subscription")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Subscription confirmed")
    tab_to(page, "main a[href^='/preferences/']")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Your newsletter preferences")
    expect(page.get_by_label("Jobs")).to_be_checked()
    expect(page.get_by_label("News")).not_to_be_checked()


def test_a_sign_up_error_is_reached_and_fixed_with_the_keyboard(page, live_server, news, jobs):
    """Enter on an empty form: the summary takes focus, its link leads to the field."""
    page.goto(live_server("/subscribe"))
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    tab_to(page, ".error-summary a[href='#email']")
    page.keyboard.press("Enter")
    expect(page.locator("#email")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("ann@example.com")
    tab_to(page, "input[type=checkbox][value=jobs]")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Check your email")
