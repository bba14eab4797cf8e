"""Members: get-or-create from Slack identity, first member is ADMIN, granting ADMIN."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from storage.errors import NotFound, PermissionDenied, ValidationFailed
from storage.models import User
from storage.users import (
    KNOWN_MEMBERS,
    KnownMembers,
    ensure_user,
    get_actor,
    grant_admin,
    workspace_admins,
)


def test_first_member_of_each_workspace_is_admin(world) -> None:
    assert world.alice.is_admin and world.alice.role == "ADMIN"
    assert not world.bob.is_admin and world.bob.role == "USER"
    assert world.eve.is_admin  # first of workspace T2, whatever T1 has


def test_ensure_user_is_get_or_create_and_refreshes_profile(world) -> None:
    with world.db.write() as s:
        again = ensure_user(s, "T1", "UBOB", email="bob@example.com", display_name="Bobby")
    assert again == world.bob
    with world.db.write() as s:
        ensure_user(s, "T1", "UBOB")  # nothing given: nothing changes, no audit row
    actions = world.audit_actions()
    assert actions.count("user.update") == 1
    assert actions.count("user.create") == 3


def test_same_slack_user_id_in_two_workspaces_is_two_members(world) -> None:
    with world.db.write() as s:
        other = ensure_user(s, "T2", "UALICE")
    assert other.user_id != world.alice.user_id
    assert other.team_id == "T2" and not other.is_admin


def test_duplicate_email_in_a_workspace_is_dropped_not_an_error(world) -> None:
    with world.db.write() as s:
        ensure_user(s, "T1", "UALICE", email="x@example.com")
        ensure_user(s, "T1", "UBOB", email="x@example.com")
        ensure_user(s, "T1", "UNEW", email="x@example.com")
        ensure_user(s, "T2", "UEVE", email="x@example.com")  # another workspace may have it
    with world.db.read() as s:
        rows = s.execute(select(User.slack_team_id, User.slack_user_id, User.email)).all()
    emails = {f"{team}:{user}": email for team, user, email in rows}
    # the first to give it keeps it; the others are stored without it
    assert emails == {
        "T1:UALICE": "x@example.com",
        "T1:UBOB": None,
        "T1:UCAROL": None,
        "T1:UNEW": None,
        "T2:UEVE": "x@example.com",
    }


def test_admin_grants_admin_with_audit(world) -> None:
    with world.db.write() as s:
        granted = grant_admin(s, world.alice, "UBOB")
    assert granted.is_admin and granted.user_id == world.bob.user_id
    assert "user.grant_admin" in world.audit_actions()
    with world.db.read() as s:
        assert get_actor(s, "T1", "UBOB").is_admin


def test_member_cannot_grant_admin_and_nothing_changes(world) -> None:
    before = world.audit_count()
    with pytest.raises(PermissionDenied, match="admin"), world.db.write() as s:
        grant_admin(s, world.bob, "UCAROL")
    with world.db.read() as s:
        assert not get_actor(s, "T1", "UCAROL").is_admin
    assert world.audit_count() == before


def test_admin_of_other_workspace_grants_only_in_their_own(world) -> None:
    with world.db.write() as s:
        granted = grant_admin(s, world.eve, "UBOB")
    assert granted.team_id == "T2"
    with world.db.read() as s:
        assert not get_actor(s, "T1", "UBOB").is_admin


def test_the_admins_of_a_workspace_longest_standing_first(world) -> None:
    with world.db.write() as s:
        grant_admin(s, world.alice, "UCAROL")
    with world.db.read() as s:
        assert workspace_admins(s) == {"T1": ["UALICE", "UCAROL"], "T2": ["UEVE"]}
        assert workspace_admins(s, "T1") == {"T1": ["UALICE", "UCAROL"]}
        assert workspace_admins(s, "T9") == {}


def test_bad_slack_ids_are_refused(world) -> None:
    before = world.audit_count()
    for bad in ["", "@bob", "<@U1>", "U 1", "x" * 40, None]:
        with pytest.raises(ValidationFailed), world.db.write() as s:
            ensure_user(s, "T1", bad)
    assert world.audit_count() == before


def test_profile_text_is_cleaned(world) -> None:
    with world.db.write() as s:
        ensure_user(s, "T1", "UDAVE", display_name=" Da\x00ve\n ", first_name="x" * 300)
    with world.db.read() as s:
        dave = s.scalars(select(User).where(User.slack_user_id == "UDAVE")).one()
    assert dave.display_name == "Dave" and len(dave.first_name) == 255


def test_known_members_are_kept_for_reads_until_they_expire(world) -> None:
    """A read's member comes from memory for `ttl` seconds: a change made elsewhere (another
    process) shows once the entry expires."""
    now = [100.0]
    known = KnownMembers(ttl=10.0, clock=lambda: now[0])
    with world.db.read() as s:
        assert known.actor(s, "T1", "UBOB") == world.bob
    with world.db.write() as s:  # as another process would, past this one's memory
        s.execute(update(User).where(User.slack_user_id == "UBOB").values(role="ADMIN"))
    with world.db.read() as s:
        assert not known.actor(s, "T1", "UBOB").is_admin  # kept
        now[0] += 10.0
        assert known.actor(s, "T1", "UBOB").is_admin  # expired, read again
        with pytest.raises(NotFound):
            known.actor(s, "T1", "UNEVERSEEN")  # an unseen member is not kept as anything


def test_a_member_made_admin_is_forgotten_when_the_grant_commits(world) -> None:
    """A read between the grant and its commit sees (and keeps) the old role: the member is
    forgotten again once the grant commits, so the next read sees ADMIN."""
    KNOWN_MEMBERS.forget("T1", "UCAROL")  # (kept by an earlier test on the same database URL)
    with world.db.read() as s:
        assert not KNOWN_MEMBERS.actor(s, "T1", "UCAROL").is_admin
    with world.db.write() as w:
        grant_admin(w, world.alice, "UCAROL")
        with world.db.read() as s:  # before the commit: the old row, kept again
            assert not KNOWN_MEMBERS.actor(s, "T1", "UCAROL").is_admin
    with world.db.read() as s:
        assert KNOWN_MEMBERS.actor(s, "T1", "UCAROL").is_admin
