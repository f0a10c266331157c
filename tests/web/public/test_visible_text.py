"""The visible text of a page, as stored for consent evidence."""

from newsletter.web.visible_text import visible_text


def test_one_line_per_block_with_whitespace_collapsed():
    """Blocks start lines; inline elements and entities run on; spaces collapse."""
    html = """<h1>Sign   up</h1>
    <p>Read our <a href="/privacy">privacy
       notice</a> &amp; more.</p><label>Email</label><div>Hint<br>next</div>"""
    assert visible_text(html) == "Sign up\nRead our privacy notice & more.\nEmail\nHint\nnext"


def test_hidden_elements_and_attributes_are_left_out():
    """aria-hidden, hidden, scripts and styles are not shown; attribute values never are."""
    html = """<form><input type="hidden" name="csrf_token" value="secret">
    <div class="honeypot" aria-hidden="true"><label>Leave this field empty</label>
      <input value="bot"><div>nested</div></div>
    <p hidden>Not shown</p><script>var x = 1;</script><style>p {}</style>
    <button>Sign up</button></form>"""
    assert visible_text(html) == "Sign up"


def test_a_stray_end_tag_does_not_end_a_hidden_region():
    """An end tag with no open element of its name leaves hiding as it was."""
    html = '<div aria-hidden="true"></p><span>hidden</span></div><p>shown</p>'
    assert visible_text(html) == "shown"
