"""An instance folder that cannot be one (a file in its place) is one line and exit 1, not a
traceback."""

from tests.support.process import clean_env, run_newsletter


def test_newsletter_instance_naming_a_file_is_one_line_on_stderr(tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("not a folder")
    env = {**clean_env(), "NEWSLETTER_INSTANCE": str(taken)}
    result = run_newsletter("lists", "list", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot use the instance folder {taken}: File exists"
    )
    assert taken.read_text() == "not a folder"
