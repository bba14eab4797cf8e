"""Projects: names, keys, settings, lookups with suggestions, edits, deletes, channels."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import projects
from storage.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from storage.models import Project, UserStory
from storage.projects import derive_key, key_candidates


def test_create_derives_key_and_fills_settings_defaults(world) -> None:
    p = world.project(world.bob, "Web Store", description="  shop  ")
    assert p.key in ("WS", "WEB")
    assert p.description == "shop"
    assert p.owner_slack_id == "UBOB"
    assert p.settings == {
        "ai_model": None,
        "story_template": "agile",
        "default_priority": "MEDIUM",
        "auto_assign_points": True,
        "include_tasks": True,
        "ready_check": "warn",
    }
    assert world.audit_actions()[-1] == "project.create"


def test_derived_keys_are_unique_by_trying_alternatives(world) -> None:
    keys = {world.project(world.alice, name).key for name in ["Web Store", "Wide Sky", "Web"]}
    assert len(keys) == 3
    for key in keys:
        assert 2 <= len(key) <= 10 and key.isupper()


def test_key_candidates() -> None:
    assert key_candidates("Web Store")[0] == "WS"
    assert "WEB" in key_candidates("Web Store")
    assert key_candidates("web")[0] == "WEB"
    assert key_candidates("日本")[0] == "PRJ"
    assert key_candidates("a")[0] == "AX"
    assert derive_key("Web", {"WEB", "WE", "WEB2"}) == "WEB3"


def test_name_is_unique_per_workspace_case_insensitively(world) -> None:
    world.project(world.alice, "Web")
    before = world.audit_count()
    with pytest.raises(Conflict, match="already exists"):
        world.project(world.bob, "  WEB ")
    assert world.audit_count() == before
    world.project(world.eve, "web")  # another workspace may use it


def test_given_key_is_validated_and_unique(world) -> None:
    assert world.project(world.alice, "Alpha", key="al1").key == "AL1"
    with pytest.raises(Conflict, match="AL1"):
        world.project(world.alice, "Beta", key="AL1")
    for bad in ["A", "1AB", "TOOLONGKEY1", "A-B"]:
        with pytest.raises(ValidationFailed) as exc:
            world.project(world.alice, "Gamma", key=bad)
        assert "key" in exc.value.field_errors


BAD_PROJECTS = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "---"}, "name"),
    ({"name": "ok", "repository_url": "ftp://x"}, "repository_url"),
    ({"name": "ok", "settings": {"default_priority": "URGENT"}}, "settings.default_priority"),
    ({"name": "ok", "settings": {"unknown": 1}}, "settings.unknown"),
    ({"name": "ok", "owner": "U1"}, "owner"),
]


def test_bad_project_input_is_refused_with_field_errors(world) -> None:
    for fields, field in BAD_PROJECTS:
        with pytest.raises(ValidationFailed) as exc, world.db.write() as s:
            projects.create_project(s, world.alice, fields)
        assert field in exc.value.field_errors, (fields, exc.value.field_errors)
        assert exc.value.message
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Project)) == 0


def test_settings_are_validated_with_defaults(world) -> None:
    p = world.project(world.alice, "Web", settings={"default_priority": "high"})
    assert p.settings["default_priority"] == "HIGH"
    assert p.settings["include_tasks"] is True


def test_get_by_key_name_or_id_and_suggestion(world) -> None:
    p = world.project(world.alice, "Web Store", key="WEB")
    with world.db.read() as s:
        for ref in ["WEB", "web", "Web Store", "web   store", p.id]:
            assert projects.get_project(s, world.bob, ref).id == p.id
        with pytest.raises(NotFound) as exc:
            projects.get_project(s, world.bob, "web stor")
        assert exc.value.message == "No project named 'web stor'. Did you mean 'Web Store'?"
        with pytest.raises(NotFound) as exc:
            projects.get_project(s, world.bob, "zzzzzz")
        assert "Did you mean" not in exc.value.message


def test_list_projects_of_own_workspace(world) -> None:
    world.project(world.alice, "beta")
    world.project(world.bob, "Alpha")
    world.project(world.eve, "Secret")
    with world.db.read() as s:
        assert [p.name for p in projects.list_projects(s, world.carol)] == ["Alpha", "beta"]
        assert [p.name for p in projects.list_projects(s, world.eve)] == ["Secret"]


def test_owner_and_admin_edit_others_are_refused(world) -> None:
    world.project(world.bob, "Web")
    with world.db.write() as s:
        p = projects.update_project(
            s, world.bob, "web", {"description": "new", "settings": {"include_tasks": False}}
        )
    assert p.description == "new" and p.settings["include_tasks"] is False
    assert p.settings["default_priority"] == "MEDIUM"
    with world.db.write() as s:
        p = projects.update_project(s, world.alice, "web", {"name": "Web Shop", "key": "SHOP"})
    assert (p.name, p.key) == ("Web Shop", "SHOP")
    before = world.audit_count()
    with pytest.raises(PermissionDenied, match="owner"), world.db.write() as s:
        projects.update_project(s, world.carol, "SHOP", {"name": "Mine"})
    with pytest.raises(PermissionDenied), world.db.write() as s:
        projects.delete_project(s, world.carol, "SHOP")
    assert world.audit_count() == before
    with world.db.read() as s:
        assert projects.get_project(s, world.carol, "SHOP").name == "Web Shop"


def test_update_refuses_unknown_fields_and_clashes(world) -> None:
    world.project(world.alice, "Web")
    world.project(world.alice, "Api")
    with pytest.raises(ValidationFailed, match="owner_id"), world.db.write() as s:
        projects.update_project(s, world.alice, "web", {"owner_id": world.bob.user_id})
    with pytest.raises(Conflict), world.db.write() as s:
        projects.update_project(s, world.alice, "web", {"name": "API"})
    with world.db.write() as s:  # renaming to a different case of itself is fine
        assert projects.update_project(s, world.alice, "web", {"name": "WEB"}).name == "WEB"


def test_delete_cascades_to_stories(world) -> None:
    world.project(world.bob, "Web")
    world.story(world.bob, "web")
    world.story(world.carol, "web")
    with world.db.write() as s:
        gone = projects.delete_project(s, world.alice, "web")
    assert gone.name == "Web"
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserStory)) == 0
    assert world.audit_actions()[-1] == "project.delete"


def test_link_channel_one_project_per_channel(world) -> None:
    world.project(world.alice, "Web")
    world.project(world.alice, "Api")
    with world.db.write() as s:
        projects.link_channel(s, world.alice, "web", "C1")
        assert projects.project_for_channel(s, world.bob, "C1").name == "Web"
        projects.link_channel(s, world.alice, "api", "C1")
        assert projects.project_for_channel(s, world.bob, "C1").name == "Api"
        assert projects.get_project(s, world.bob, "web").channel_id is None
        assert projects.project_for_channel(s, world.eve, "C1") is None
        projects.link_channel(s, world.alice, "api", None)
        assert projects.project_for_channel(s, world.bob, "C1") is None
    with pytest.raises(PermissionDenied), world.db.write() as s:
        projects.link_channel(s, world.bob, "web", "C2")


def test_the_project_of_a_request_is_the_named_one_else_the_channels(world) -> None:
    world.project(world.alice, "Web")
    world.project(world.alice, "Api")
    with world.db.write() as s:
        projects.link_channel(s, world.alice, "web", "C1")
    find = projects.project_for_request
    with world.db.read() as s:
        assert find(s, world.bob, "api", "C1").key == "API"  # named beats linked
        assert find(s, world.bob, None, "C1").key == "WEB"
        assert find(s, world.bob, "", "C1").key == "WEB"
        assert find(s, world.bob, None, "C2") is None
        assert find(s, world.bob, None, None) is None
        assert find(s, world.eve, None, "C1") is None  # another workspace's link
        with pytest.raises(NotFound, match="Did you mean 'Api'"):
            find(s, world.bob, "apii", "C1")
        with pytest.raises(NotFound, match="No project named 'Web'"):
            find(s, world.eve, "Web", None)
        with pytest.raises(
            ValidationFailed, match=r"no linked project\. Name one, e\.g\. `/x WEB`"
        ):
            find(s, world.bob, None, "C2", required_usage="/x WEB")
        assert find(s, world.bob, None, "C1", required_usage="/x WEB").key == "WEB"
