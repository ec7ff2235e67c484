"""Hidden seeds from a course secret, and the one precedence of settings."""
import pytest

from grader.config import ConfigError, load_settings, pick, read_course_config, workers_from
from grader.seeds import SECRET_FILE, course_secret, hidden_seed


def test_seed_is_stable_per_student_and_depends_on_the_secret():
    assert hidden_seed("s3cret", "alice") == hidden_seed("s3cret", "alice")
    assert hidden_seed("s3cret", "alice") != hidden_seed("s3cret", "bob")
    assert hidden_seed("s3cret", "alice") != hidden_seed("other", "alice")


def test_secret_precedence_and_a_generated_secret_is_kept(tmp_path):
    assert course_secret(given="cli", out_dir=tmp_path, environ={"GRADER_SECRET": "env"}) == "cli"
    assert course_secret(out_dir=tmp_path, environ={"GRADER_SECRET": "env"}) == "env"
    made = course_secret(out_dir=tmp_path, environ={})
    assert course_secret(out_dir=tmp_path, environ={}) == made
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600


def test_settings_precedence_cli_environment_file_default(tmp_path):
    config = tmp_path / "course.toml"
    config.write_text('[grader]\ntimeout = 7\nworkers = 3\n')
    values = read_course_config(config)
    assert load_settings(file_values=values, environ={}).timeouts["mlp"] == 7
    assert load_settings(file_values=values, environ={"GRADER_TIMEOUT": "8"}).timeouts["mlp"] == 8
    assert load_settings(timeout="9", file_values=values, environ={"GRADER_TIMEOUT": "8"}).timeouts["mlp"] == 9
    assert load_settings(environ={}).timeouts["mlp"] == 10.0
    assert pick("workers", file_values=values, environ={}) == (3, "the course config (workers = ...)")


def test_bad_values_say_where_they_came_from(tmp_path):
    config = tmp_path / "course.toml"
    config.write_text('[grader]\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match="course.toml"):
        load_settings(file_values=read_course_config(config), file_name=str(config), environ={})
    with pytest.raises(ConfigError, match="GRADER_TIMEOUT"):
        load_settings(environ={"GRADER_TIMEOUT": "-1"})
    with pytest.raises(ConfigError, match="--workers"):
        workers_from("many", "--workers")
    config.write_text('[grader]\ncolour = "blue"\n')
    with pytest.raises(ConfigError, match="colour"):
        read_course_config(config)
    config.write_text('not toml [')
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_course_config(config)
