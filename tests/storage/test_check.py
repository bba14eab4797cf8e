"""`autodevhub check`: healthy databases pass; a broken search index or counter is reported."""

from __future__ import annotations

from sqlalchemy import text

from storage import check, stories
from storage.db import Database
from storage.models import new_id


def _backlog(world) -> None:
    world.project(world.alice, "Web", key="WEB")
    for i in range(5):
        world.story(world.bob, "web", title=f"Story {i}", description=f"words {i}")
    with world.db.write() as s:
        stories.update_story(s, world.bob, "WEB-2", {"title": "Changed title"})
        stories.delete_story(s, world.alice, "WEB-3")


def test_healthy_database_passes(world, capsys) -> None:
    _backlog(world)
    assert check.run_checks(world.db) == []
    assert check.main(world.db.url) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "4 stories" in out


def test_empty_database_passes(db: Database) -> None:
    assert check.run_checks(db) == []


def test_counter_behind_stories_is_reported(world, capsys) -> None:
    _backlog(world)
    with world.db.write() as s:
        s.execute(text("UPDATE projects SET last_story_number = 1"))
    problems = check.run_checks(world.db)
    assert len(problems) == 1 and "WEB-5" in problems[0] and "reused" in problems[0]
    assert check.main(world.db.url) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_deleted_story_left_in_fts_index_is_reported_and_repaired(sqlite_db, capsys) -> None:
    from storage.users import ensure_user
    from tests.storage.conftest import World

    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
    world = World(sqlite_db, alice, alice, alice, alice)
    _backlog(world)
    with sqlite_db.write() as s:
        s.execute(text("DROP TRIGGER stories_fts_ad"))
        s.execute(text("DELETE FROM user_stories WHERE number = 1"))
        s.execute(text("DROP TRIGGER stories_fts_ai"))
        s.execute(
            text(
                "INSERT INTO user_stories (id, team_id, project_id, number, title, description,"
                " acceptance_criteria, priority, story_points, tasks, tags, status, metadata,"
                " created_at, updated_at) SELECT :ghost, team_id, project_id, 99,"
                " 'ghost', 'ghost', '[]', 'LOW', 0, '[]', '[]', 'DRAFT', '{}', created_at,"
                " updated_at FROM user_stories WHERE number = 2"
            ),
            {"ghost": new_id()},
        )
    problems = check.run_checks(sqlite_db)
    joined = "\n".join(problems)
    assert "sync trigger(s) missing: stories_fts_ai, stories_fts_ad" in joined
    assert "integrity-check failed" in joined
    assert "1 stories not indexed" in joined
    assert "1 index entries of deleted stories" in joined
    assert "story numbers" in joined  # WEB-99 above the counter
    assert check.main(sqlite_db.url) == 1
    assert "--repair" in capsys.readouterr().out

    check.rebuild_search_index(sqlite_db)
    remaining = check.run_checks(sqlite_db)
    assert not any("integrity" in p or "indexed" in p or "index entries" in p for p in remaining)
    assert any("trigger" in p for p in remaining)  # a rebuild cannot bring triggers back


def test_repair_rebuilds_a_drifted_index(sqlite_db, capsys) -> None:
    from storage.users import ensure_user
    from tests.storage.conftest import World

    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
    world = World(sqlite_db, alice, alice, alice, alice)
    _backlog(world)
    with sqlite_db.write() as s:  # index drifts, e.g. after a VACUUM renumbered rowids
        s.execute(text("INSERT INTO stories_fts(stories_fts) VALUES ('delete-all')"))
    assert check.run_checks(sqlite_db)
    assert check.main(sqlite_db.url, repair=True) == 0
    assert check.run_checks(sqlite_db) == []
    assert "rebuilding" in capsys.readouterr().out


def test_unreadable_database_is_a_problem_not_a_traceback(tmp_path, capsys) -> None:
    path = tmp_path / "not-a-db.db"
    path.write_bytes(b"garbage" * 1000)
    assert check.main(f"sqlite:///{path}") == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_missing_database_file_is_reported_not_created(tmp_path, capsys) -> None:
    path = tmp_path / "missing.db"
    assert check.main(f"sqlite:///{path}") == 1
    assert not path.exists()
    assert "no database file" in capsys.readouterr().out


def test_cli_check_and_repair(sqlite_db: Database) -> None:
    import os
    import subprocess
    import sys

    with sqlite_db.write() as s:
        s.execute(text("INSERT INTO stories_fts(stories_fts) VALUES ('delete-all')"))
        s.execute(text("DROP TRIGGER stories_fts_ai"))  # not repairable: stays a problem
    env = {**os.environ, "DATABASE_URL": sqlite_db.url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", "check", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = cli()
    assert first.returncode == 1 and "stories_fts_ai" in first.stdout
    assert "Traceback" not in first.stderr
    repaired = cli("--repair")
    assert repaired.returncode == 1 and "rebuilding" in repaired.stdout


def test_postgresql_missing_search_index_is_reported(db: Database) -> None:
    if db.dialect != "postgresql":
        return  # SQLite's index problems are covered above
    with db.write() as s:
        s.execute(text("DROP INDEX idx_stories_search"))
    try:
        problems = check.run_checks(db)
        assert problems == ["search index: the GIN index idx_stories_search is missing"]
    finally:  # the PostgreSQL database is shared by this worker's later tests
        with db.write() as s:
            s.execute(
                text("CREATE INDEX idx_stories_search ON user_stories USING GIN (search_vector)")
            )
    assert check.run_checks(db) == []


def test_check_prints_each_tables_rows_and_indexes_and_analyzes_when_asked(db, capsys) -> None:
    from sqlalchemy import inspect

    from storage import projects, stories
    from storage.users import ensure_user

    with db.write() as s:
        owner = ensure_user(s, "T9", "U9")
        projects.create_project(s, owner, {"name": "Web shop", "key": "WEB"})
        for n in range(3):
            stories.create_story(s, owner, "WEB", {"title": f"Story {n}", "description": "x"})
    assert check.main(db.url, analyze_too=True) == 0
    out = capsys.readouterr().out
    assert "ANALYZE: the query planner's statistics are fresh." in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if "  " in line}
    assert rows["user_stories"][0] == "3" and rows["projects"][0] == "1"
    declared = len(inspect(db.write_engine).get_indexes("user_stories"))
    assert int(rows["user_stories"][1]) >= declared >= 10
    if db.dialect == "sqlite":
        assert f"file: {db.url.removeprefix('sqlite:///')}" in out
    with db.read() as s:  # ANALYZE ran: the planner has statistics for the stories
        if db.dialect == "sqlite":
            assert s.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar() > 0
        else:
            found = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'user_stories'"
            assert s.execute(text(found)).scalar() is not None


def test_a_story_whose_search_key_drifted_is_reported_and_repaired(sqlite_db, capsys) -> None:
    """The index points at user_stories.search_key: a key changed behind the triggers' back
    (as a renumbered rowid did before) leaves a story unfound and an entry of no story;
    `check` says so and `check --repair` mends it."""
    from storage.search import search_stories
    from storage.users import ensure_user
    from tests.storage.conftest import World

    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
    world = World(sqlite_db, alice, alice, alice, alice)
    _backlog(world)
    with sqlite_db.write() as s:
        s.execute(text("UPDATE user_stories SET search_key = search_key + 100 WHERE number = 4"))
    problems = "\n".join(check.run_checks(sqlite_db))
    assert "integrity-check failed" in problems
    assert "1 stories not indexed" in problems
    assert "1 index entries of deleted stories (search key)" in problems
    with sqlite_db.read() as s:
        assert search_stories(s, alice, "words 3") == []
    assert check.main(sqlite_db.url) == 1
    assert "--repair" in capsys.readouterr().out

    assert check.main(sqlite_db.url, repair=True) == 0
    assert check.run_checks(sqlite_db) == []
    with sqlite_db.read() as s:
        assert [v.key for v in search_stories(s, alice, "words 3")] == ["WEB-4"]


def test_a_story_written_without_the_insert_trigger_gets_a_key_on_repair(sqlite_db) -> None:
    """Without its insert trigger a story keeps the default key 0, and the next one could not
    be written (the key is unique): `check` names it, the repair keys and indexes it."""
    from storage.search import search_stories
    from storage.users import ensure_user
    from tests.storage.conftest import World

    with sqlite_db.write() as s:
        alice = ensure_user(s, "T1", "UALICE")
    world = World(sqlite_db, alice, alice, alice, alice)
    _backlog(world)
    with sqlite_db.write() as s:
        trigger = s.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'stories_fts_ai'"))
        s.execute(text("DROP TRIGGER stories_fts_ai"))
    orphan = world.story(alice, "web", title="Keyless", description="lonely")
    with sqlite_db.write() as s:
        s.execute(text(trigger))
    problems = check.run_checks(sqlite_db)
    assert any("1 stories without a search key" in p and orphan.id in p for p in problems)
    check.rebuild_search_index(sqlite_db)
    assert check.run_checks(sqlite_db) == []
    after = world.story(alice, "web", title="Keyed", description="fine")
    with sqlite_db.read() as s:
        assert [v.key for v in search_stories(s, alice, "lonely")] == [orphan.key]
        assert [v.key for v in search_stories(s, alice, "keyed")] == [after.key]


def test_a_missing_project_version_trigger_is_reported(db: Database) -> None:
    """Without it a list kept in memory would miss the changes it no longer versions."""
    sqlite = db.dialect == "sqlite"
    with db.write() as s:  # PostgreSQL: disabled, which counts as missing, and is undone
        s.execute(text("DROP TRIGGER project_version_au") if sqlite else
                  text("ALTER TABLE user_stories DISABLE TRIGGER project_version_au"))  # fmt: skip
    try:
        problems = check.run_checks(db)
        assert len(problems) == 1 and problems[0].startswith(
            "project versions: trigger(s) missing: project_version_au;"
        ), problems
    finally:  # the PostgreSQL database is shared by this worker's later tests
        if not sqlite:
            with db.write() as s:
                s.execute(text("ALTER TABLE user_stories ENABLE TRIGGER project_version_au"))
    if not sqlite:
        assert check.run_checks(db) == []
