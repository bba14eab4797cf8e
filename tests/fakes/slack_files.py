"""File uploads on the fake Slack Web API, as strict as Slack: the three steps of
`files_upload_v2`, and image blocks that show an uploaded file.

`FakeSlackAPI` (tests/fakes/slack_api.py) holds one `SlackFiles` as `fake.files` and hands it
what concerns files; this module knows nothing else of the fake.

1. `files.getUploadURLExternal` (`filename`, `length` > 0, optional `alt_txt` of at most 1000
   characters) answers a `file_id` and an `upload_url` on the fake itself (loopback).
2. A POST of the file's bytes to that URL stores them (HTTP 200 `OK - <length>`, as Slack's
   upload service answers). An unknown URL is HTTP 404; a body whose size is not the
   `length` announced, or a second upload to the same URL, is HTTP 400 and a refusal.
3. `files.completeUploadExternal` (`files`: a JSON array of `{"id", "title"?}`) finishes
   files whose bytes arrived; a file never uploaded, unknown, or of another workspace is
   `file_not_found` (and a refusal). Without `channel_id`/`channels` the file stays
   private to the app, which may still show it in its own messages.

Image blocks (`"slack_file": {"id"}` or `{"url"}`, exactly one) in chat.* messages must
name a file of the poster's workspace that was completed and is an image Slack shows
(png, jpg or gif, told by its bytes); otherwise the message is refused `invalid_blocks`
with Slack's "invalid slack file [json-pointer:/blocks/N/slack_file]".

Tests read `fake.files.get(file_id)` (its bytes, title, alt text, whether completed) and
`fake.files.all()`.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

UPLOAD_PATH = "/upload/v1/"
FILE_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")
# files.getUploadURLExternal: "alt_txt_too_large: ... longer than the limit of 1000 character"
ALT_TXT_MAX = 1000
# What a file id looks like (Slack: "input must match regex pattern: ^[F][A-Z0-9]{8,}$")
FILE_ID = re.compile(r"F[A-Z0-9]{8,}")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass
class FakeFile:
    """One file as Slack keeps it: announced, then uploaded, then completed."""

    id: str
    team: str
    filename: str
    length: int
    alt_txt: str | None
    upload_key: str
    data: bytes | None = None
    title: str | None = None
    completed: bool = False
    shared_to: list[str] = field(default_factory=list)

    @property
    def is_image(self) -> bool:
        return self.data is not None and self.data.startswith(IMAGE_MAGIC)

    def as_slack(self, base_url: str) -> dict[str, Any]:
        """The file object completeUploadExternal answers (a few of Slack's fields)."""
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "user_team": self.team,
            "url_private": f"{base_url}/files-pri/{self.team}-{self.id}/{self.filename}",
            "channels": [c for c in self.shared_to if c.startswith("C")],
            "groups": [c for c in self.shared_to if c.startswith("G")],
            "ims": [c for c in self.shared_to if c.startswith("D")],
        }


@dataclass(frozen=True)
class FileRefusal:
    """How Slack refuses a call about files: its error code and why (the fake records it)."""

    error: str
    problems: tuple[str, ...]


class SlackFiles:
    """The files uploaded to the fake, and Slack's rules about them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, FakeFile] = {}
        self._by_upload_key: dict[str, str] = {}

    # -- reading -------------------------------------------------------------------------
    def get(self, file_id: str) -> FakeFile | None:
        with self._lock:
            return self._files.get(file_id)

    def all(self) -> list[FakeFile]:
        with self._lock:
            return list(self._files.values())

    # -- checks before a call is answered ------------------------------------------------
    def refusal_of(self, method: str, params: dict[str, Any], team: str) -> FileRefusal | None:
        """How Slack refuses this call for what it says about files (None: not refused)."""
        if method == "files.getUploadURLExternal":
            return _upload_url_refusal(params)
        if method == "files.completeUploadExternal":
            return self._complete_refusal(params, team)
        if method.startswith("chat.") and isinstance(params.get("blocks"), list):
            problems = self._image_problems(params["blocks"], team)
            return FileRefusal("invalid_blocks", tuple(problems)) if problems else None
        return None

    def _complete_refusal(self, params: dict[str, Any], team: str) -> FileRefusal | None:
        items = _json_list(params.get("files"))
        if not items or not all(isinstance(i, dict) and i.get("id") for i in items):
            return FileRefusal("invalid_arguments", ("files must be a JSON array of {id, title}",))
        with self._lock:
            for item in items:
                found = self._files.get(str(item["id"]))
                if found is None or found.team != team:
                    return FileRefusal("file_not_found", (f"no file {item['id']!r}",))
                if found.data is None:
                    return FileRefusal(
                        "file_not_found", (f"file {found.id} was never uploaded to its URL",)
                    )
        return None

    def _image_problems(self, blocks: list[Any], team: str) -> list[str]:
        problems = []
        with self._lock:
            for i, block in enumerate(blocks):
                if not isinstance(block, dict) or "slack_file" not in block:
                    continue
                pointer = f"[json-pointer:/blocks/{i}/slack_file]"
                ref = block["slack_file"]
                if not isinstance(ref, dict) or ("id" in ref) == ("url" in ref):
                    problems.append(f"slack_file needs exactly one of id and url {pointer}")
                    continue
                if "id" in ref and not FILE_ID.fullmatch(str(ref["id"])):
                    problems.append(
                        "input must match regex pattern: ^[F][A-Z0-9]{8,}$ "
                        f"[json-pointer:/blocks/{i}/slack_file/id]"
                    )
                    continue
                found = self._file_named(ref)
                if found is None or found.team != team or not found.completed:
                    problems.append(f"invalid slack file {pointer}")
                elif not found.is_image:
                    problems.append(f"slack file is not a png, jpg or gif image {pointer}")
        return problems

    def _file_named(self, ref: dict[str, Any]) -> FakeFile | None:
        if "id" in ref:
            return self._files.get(str(ref["id"]))
        return next((f for f in self._files.values() if str(ref["url"]).endswith(f.id)), None)

    # -- answers -------------------------------------------------------------------------
    def answer(
        self, method: str, params: dict[str, Any], *, team: str, base_url: str
    ) -> dict[str, Any]:
        """Slack's `ok` answer to a files.* call that `refusal_of` let through."""
        if method == "files.getUploadURLExternal":
            file = FakeFile(
                id="F" + uuid.uuid4().hex[:10].upper(),
                team=team,
                filename=str(params["filename"]),
                length=int(params["length"]),
                alt_txt=params.get("alt_txt") or None,
                upload_key=uuid.uuid4().hex,
            )
            with self._lock:
                self._files[file.id] = file
                self._by_upload_key[file.upload_key] = file.id
            return {
                "ok": True,
                "upload_url": f"{base_url}{UPLOAD_PATH}{file.upload_key}",
                "file_id": file.id,
            }
        # files.completeUploadExternal
        shared = [params["channel_id"]] if params.get("channel_id") else []
        shared += [c for c in str(params.get("channels") or "").split(",") if c]
        done = []
        with self._lock:
            for item in _json_list(params.get("files")):
                found = self._files[str(item["id"])]
                found.completed = True
                found.title = item.get("title") or found.title
                found.shared_to = shared
                done.append(found.as_slack(base_url))
        return {"ok": True, "files": done}

    def receive_upload(self, path: str, body: bytes) -> tuple[int, str, str | None]:
        """A POST to an upload URL: (HTTP status, body, why it was refused or None)."""
        key = path[len(UPLOAD_PATH) :]
        with self._lock:
            found = self._files.get(self._by_upload_key.get(key, ""))
            if found is None:
                return 404, "Not Found", None  # no such URL: nothing the app sent is lost
            if found.data is not None:
                return 400, "Bad Request", f"{found.id} was already uploaded"
            if len(body) != found.length:
                return (
                    400,
                    "Bad Request",
                    f"{found.id}: {len(body)} bytes uploaded, {found.length} announced",
                )
            found.data = body
        return 200, f"OK - {len(body)}", None


def _upload_url_refusal(params: dict[str, Any]) -> FileRefusal | None:
    if not params.get("filename"):
        return FileRefusal("invalid_arguments", ("missing filename",))
    try:
        length = int(params.get("length") or 0)
    except (TypeError, ValueError):
        return FileRefusal("invalid_arguments", ("length must be an integer",))
    if length <= 0:  # Slack: "Typically only occurs when the `length` provided is 0."
        return FileRefusal("missing_argument", ("length must be more than 0",))
    if len(str(params.get("alt_txt") or "")) > ALT_TXT_MAX:
        return FileRefusal("alt_txt_too_large", (f"alt_txt over {ALT_TXT_MAX} characters",))
    return None


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []
