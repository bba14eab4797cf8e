"""Storage test fixtures: two workspaces with members, and small builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import projects, stories
from storage.db import Database
from storage.models import AuditLog
from storage.users import Actor, ensure_user


@dataclass
class World:
    db: Database
    alice: Actor  # first member of workspace T1: ADMIN
    bob: Actor  # member of T1
    carol: Actor  # member of T1
    eve: Actor  # first member of workspace T2: ADMIN of the other tenant

    def story(self, actor: Actor, project: str, **fields: Any) -> stories.StoryView:
        data = {"title": "A story", "description": "As a user I want it so that it works"}
        data.update(fields)
        with self.db.write() as s:
            return stories.create_story(s, actor, project, data)

    def project(self, actor: Actor, name: str, **fields: Any) -> projects.ProjectView:
        with self.db.write() as s:
            return projects.create_project(s, actor, {"name": name, **fields})

    def audit_count(self) -> int:
        with self.db.read() as s:
            return s.scalar(select(func.count()).select_from(AuditLog))

    def audit_actions(self, team_id: str = "T1") -> list[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(AuditLog.action).where(AuditLog.team_id == team_id).order_by(AuditLog.id)
                )
            )


@pytest.fixture
def world(db: Database) -> World:
    with db.write() as s:
        alice = ensure_user(s, "T1", "UALICE", display_name="alice")
        bob = ensure_user(s, "T1", "UBOB", display_name="bob")
        carol = ensure_user(s, "T1", "UCAROL")
        eve = ensure_user(s, "T2", "UEVE")
    return World(db, alice, bob, carol, eve)
