"""File uploads on the fake Slack Web API, as strict as Slack: the three steps of
`files_upload_v2`, files shared in a conversation (an export in a member's DM) or kept
private to the app, and image blocks that show an uploaded file.

`FakeSlackAPI` (tests/fakes/slack_api.py) holds one `SlackFiles` as `fake.files` and hands it
what concerns files; this module knows nothing else of the fake (it is told how a channel
refuses a share).

1. `files.getUploadURLExternal` (`filename`, a whole `length` > 0, optional `alt_txt` of at
   most 1000 characters) answers a `file_id` and an `upload_url` on the fake itself
   (loopback). A missing or blank filename, a missing or non-integer length is
   `invalid_arguments`; a length of 0 is `missing_argument`.
2. A POST of the file's bytes to that URL stores them (HTTP 200 `OK - <length>`, as Slack's
   upload service answers), recorded as a call of method "upload_url" (`params`: `file_id`,
   `bytes`). An unknown URL is HTTP 404; a body whose size is not the `length` announced,
   or a second upload to the same URL, is HTTP 400 and nothing is kept. All three are
   recorded as refusals.
3. `files.completeUploadExternal` (`files`: a JSON array of `{"id", "title"?}`) finishes
   files whose bytes arrived; a file unknown, of another workspace, completed already or
   whose bytes never reached its URL is `file_not_found` (and a refusal); `thread_ts`
   without a channel is `invalid_arguments`. With `channel_id`/`channels` the file is
   shared there (with its `initial_comment`); a channel that is no conversation id, or one
   set to refuse posts, answers that error. Without one the file stays private to the app,
   which may still show it in its own messages.

Image blocks (`"slack_file": {"id"}` or `{"url"}`, exactly one) in chat.* messages must
name a file of the poster's workspace that was completed and is an image Slack shows
(png, jpg or gif, told by its bytes); otherwise the message is refused `invalid_blocks`
with Slack's "invalid slack file [json-pointer:/blocks/N/slack_file]".

Tests read `fake.files.get(file_id)`, `fake.files.all()` (every file announced) and
`fake.uploaded(channel)` (the files completed, in `channel` when given).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

UPLOAD_PATH = "/upload/v1/"  # where files.getUploadURLExternal's upload URLs point
FILE_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")
UPLOAD_METHOD = "upload_url"  # how a POST of bytes to an upload URL is recorded
# files.getUploadURLExternal: "alt_txt_too_large: ... longer than the limit of 1000 character"
ALT_TXT_MAX = 1000
# What a file id looks like (Slack: "input must match regex pattern: ^[F][A-Z0-9]{8,}$")
FILE_ID = re.compile(r"F[A-Z0-9]{8,}")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass
class UploadedFile:
    """One file as Slack keeps it: announced by files.getUploadURLExternal, its bytes once
    they came to the upload URL, then completed (and shared, or kept private)."""

    id: str
    team: str
    filename: str
    length: int
    alt_txt: str | None
    upload_key: str
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    shared_to: list[str] = field(default_factory=list)  # []: private to the app
    initial_comment: str | None = None

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8")

    @property
    def is_image(self) -> bool:
        return self.content is not None and self.content.startswith(IMAGE_MAGIC)

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
    """The files uploaded to the fake, and Slack's rules about them.

    `share_refusal(channel)` says why a channel would not take a file (an error code), or
    None: the fake's channels decide it as they decide posts."""

    def __init__(self, share_refusal: Callable[[str], str | None] = lambda _: None) -> None:
        self._share_refusal = share_refusal
        self._lock = threading.Lock()
        self._files: dict[str, UploadedFile] = {}  # by file id, oldest first
        self._by_upload_key: dict[str, str] = {}

    # -- reading -------------------------------------------------------------------------
    def get(self, file_id: str) -> UploadedFile | None:
        with self._lock:
            return self._files.get(file_id)

    def all(self) -> list[UploadedFile]:
        """Every file announced, completed or not, oldest first."""
        with self._lock:
            return list(self._files.values())

    def uploaded(self, channel: str | None = None) -> list[UploadedFile]:
        """The files completed, oldest first; those shared in `channel` only, when given."""
        with self._lock:
            done = [f for f in self._files.values() if f.completed]
        return [f for f in done if channel is None or channel in f.shared_to]

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
        if not items or not all(
            isinstance(i, dict) and isinstance(i.get("id"), str) for i in items
        ):
            return FileRefusal("invalid_arguments", ('files must be a JSON array of {"id": ...}',))
        if params.get("thread_ts") and not _channels_of(params):
            return FileRefusal("invalid_arguments", ("thread_ts needs a channel",))
        with self._lock:
            for item in items:
                found = self._files.get(item["id"])
                if found is None or found.team != team:
                    return FileRefusal("file_not_found", (f"{item['id']} was never announced",))
                if found.completed:
                    return FileRefusal("file_not_found", (f"{found.id} was completed already",))
                if found.content is None:
                    return FileRefusal(
                        "file_not_found", (f"{found.id}: its bytes never reached its upload_url",)
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

    def _file_named(self, ref: dict[str, Any]) -> UploadedFile | None:
        if "id" in ref:
            return self._files.get(str(ref["id"]))
        return next((f for f in self._files.values() if str(ref["url"]).endswith(f.id)), None)

    # -- answers -------------------------------------------------------------------------
    def answer(
        self, method: str, params: dict[str, Any], *, team: str, base_url: str
    ) -> dict[str, Any]:
        """Slack's answer to a files.* call that `refusal_of` let through."""
        if method == "files.getUploadURLExternal":
            file = UploadedFile(
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
        # files.completeUploadExternal: shared where it says, when those channels take it
        shared = _channels_of(params)
        for channel in shared:
            error = self._share_refusal(channel)
            if error is not None:
                return {"ok": False, "error": error}
        done = []
        with self._lock:
            for item in _json_list(params.get("files")):
                found = self._files[item["id"]]
                found.completed = True
                found.title = item.get("title") or found.filename
                found.shared_to = shared
                found.initial_comment = params.get("initial_comment") if shared else None
                done.append(found.as_slack(base_url))
        return {"ok": True, "files": done}

    def receive_upload(
        self, key: str, body: bytes
    ) -> tuple[int, str, str | None, FileRefusal | None]:
        """A POST to the upload URL ending in `key`: (HTTP status, body, the file id or None,
        why it was refused or None)."""
        with self._lock:
            found = self._files.get(self._by_upload_key.get(key, ""))
            if found is None:
                why = FileRefusal("not_found", ("no file was announced at this URL",))
                return 404, "Not Found", None, why
            if found.content is not None:
                why = FileRefusal("already_uploaded", (f"{found.id} was uploaded already",))
                return 400, "Bad Request", found.id, why
            if len(body) != found.length:
                # not an error code Slack sends: the file would be cut short or padded
                why = FileRefusal(
                    "length_mismatch",
                    (f"{found.filename}: {len(body)} bytes sent, {found.length} announced",),
                )
                return 400, "Bad Request", found.id, why
            found.content = body
        return 200, f"OK - {len(body)}", found.id, None


def _upload_url_refusal(params: dict[str, Any]) -> FileRefusal | None:
    """Argument shapes of files.getUploadURLExternal, as its reference page states them."""
    problems = []
    if not str(params.get("filename") or "").strip():
        problems.append("missing required field: filename")
    length = params.get("length")
    if length in (None, ""):
        problems.append("missing required field: length")
    elif not re.fullmatch(r"[0-9]+", str(length)):
        problems.append(f"length must be an integer, not {str(length)[:20]!r}")
    if problems:
        return FileRefusal("invalid_arguments", tuple(problems))
    if int(str(length)) == 0:
        # the reference: missing_argument "typically only occurs when the length is 0"
        return FileRefusal("missing_argument", ("length is 0",))
    if len(str(params.get("alt_txt") or "")) > ALT_TXT_MAX:
        return FileRefusal("alt_txt_too_large", (f"alt_txt over {ALT_TXT_MAX} characters",))
    return None


def _channels_of(params: dict[str, Any]) -> list[str]:
    """Where files.completeUploadExternal shares: `channel_id`, and/or `channels` (a
    comma-separated list)."""
    shared = [str(params["channel_id"])] if params.get("channel_id") else []
    shared += [c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()]
    return list(dict.fromkeys(shared))


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []
