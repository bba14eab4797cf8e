"""The fake Slack's file uploads are as strict as Slack: files_upload_v2's three steps, an
upload URL on the fake, and image blocks that may show only a completed image of the app's."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_api import FakeSlackAPI, http_request, take_refusals

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def fake():
    with FakeSlackAPI() as running:
        yield running
    take_refusals()  # this module provokes them on purpose


@pytest.fixture
def client(fake):
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def _image(file_id: str) -> dict:
    return {"type": "image", "slack_file": {"id": file_id}, "alt_text": "a chart"}


def test_an_uploaded_png_is_shown_by_id_and_kept_with_its_bytes(fake, client):
    done = client.files_upload_v2(file=PNG, filename="c.png", title="Chart", alt_txt="a chart")
    file_id = done["file"]["id"]
    kept = fake.files.get(file_id)
    assert kept.content == PNG and kept.completed and kept.title == "Chart"
    assert kept.alt_txt == "a chart" and kept.shared_to == []
    assert fake.uploaded() == [kept] and fake.uploaded("C1") == []  # private to the app
    [upload] = fake.calls_to("upload_url")
    assert upload.params == {"file_id": file_id, "bytes": len(PNG)}
    client.chat_postMessage(channel="C1", text="x", blocks=[_image(file_id)])
    assert take_refusals() == []


def test_the_upload_url_is_on_the_fake(fake, client):
    answer = client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    assert answer["upload_url"].startswith(fake.base_url + "/upload/")
    assert answer["file_id"].startswith("F")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"filename": "c.png", "length": 0}, "missing_argument"),
        ({"filename": "", "length": 10}, "invalid_arguments"),
        ({"filename": "c.png", "length": 10, "alt_txt": "a" * 1001}, "alt_txt_too_large"),
    ],
)
def test_asking_for_an_upload_url_wrongly_is_refused(fake, client, arguments, error):
    with pytest.raises(SlackApiError) as refused:
        client.files_getUploadURLExternal(**arguments)
    assert refused.value.response["error"] == error
    assert [r.error for r in take_refusals()] == [error]


def test_completing_a_file_whose_bytes_never_arrived_is_file_not_found(fake, client):
    file_id = client.files_getUploadURLExternal(filename="c.png", length=10)["file_id"]
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": file_id}])
    assert refused.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as unknown:
        client.files_completeUploadExternal(files=[{"id": "F0NOSUCHFILE"}])
    assert unknown.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as shapeless:
        client.api_call("files.completeUploadExternal", params={"files": "[]"})
    assert shapeless.value.response["error"] == "invalid_arguments"
    assert len(take_refusals()) == 3


def test_a_file_is_completed_once_in_its_own_workspace_and_threads_need_a_channel(fake, client):
    done = client.files_upload_v2(file=PNG, filename="c.png", channel="D0DM", initial_comment="hi")
    file_id = done["file"]["id"]
    assert done["file"]["ims"] == ["D0DM"] and fake.uploaded("D0DM")[0].initial_comment == "hi"
    with pytest.raises(SlackApiError) as again:
        client.files_completeUploadExternal(files=[{"id": file_id}])
    assert again.value.response["error"] == "file_not_found"
    answer = client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    http_request("POST", answer["upload_url"], PNG)
    fake.team_for_token["xoxb-other"] = "T0THER"
    other = WebClient(token="xoxb-other", base_url=fake.api_url)
    with pytest.raises(SlackApiError) as elsewhere:
        other.files_completeUploadExternal(files=[{"id": answer["file_id"]}])
    assert elsewhere.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as unthreaded:
        client.files_completeUploadExternal(files=[{"id": answer["file_id"]}], thread_ts="1.2")
    assert unthreaded.value.response["error"] == "invalid_arguments"
    assert [r.error for r in take_refusals()] == [
        "file_not_found",
        "file_not_found",
        "invalid_arguments",
    ]
    assert not fake.files.get(answer["file_id"]).completed


def test_an_upload_of_other_than_the_announced_length_is_refused(fake, client):
    answer = client.files_getUploadURLExternal(filename="c.png", length=10)
    wrong = http_request("POST", answer["upload_url"], b"12345")
    assert wrong.status == 400
    assert [(r.method, r.error) for r in take_refusals()] == [("upload_url", "length_mismatch")]
    right = http_request("POST", answer["upload_url"], b"0123456789")
    assert right.status == 200 and right.text == "OK - 10"
    again = http_request("POST", answer["upload_url"], b"0123456789")
    assert again.status == 400
    assert [r.error for r in take_refusals()] == ["already_uploaded"]
    assert http_request("POST", fake.base_url + "/upload/v1/nothing", b"x").status == 404
    assert [r.error for r in take_refusals()] == ["not_found"]


@pytest.mark.parametrize("case", ["unknown", "not completed", "not an image", "other team"])
def test_an_image_block_must_show_a_completed_image_of_the_posters_workspace(fake, client, case):
    if case == "unknown":
        file_id = "F0NOSUCHFILE"
    elif case == "not completed":
        answer = client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
        http_request("POST", answer["upload_url"], PNG)
        file_id = answer["file_id"]
    elif case == "not an image":
        file_id = client.files_upload_v2(content="a,b\n1,2\n", filename="t.csv")["file"]["id"]
    else:
        fake.team_for_token["xoxb-other"] = "T0THER"
        other = WebClient(token="xoxb-other", base_url=fake.api_url)
        file_id = other.files_upload_v2(file=PNG, filename="c.png")["file"]["id"]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x", blocks=[_image(file_id)])
    answer = refused.value.response
    assert answer["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks/0/slack_file]" in answer["response_metadata"]["messages"][0]
    assert [r.method for r in take_refusals()] == ["chat.postMessage"]


def test_a_slack_file_names_exactly_one_of_id_and_url_and_a_real_looking_id(fake, client):
    for slack_file in ({}, {"id": "F0123456789", "url": "https://x/F0123456789"}, {"id": "x1"}):
        block = {"type": "image", "slack_file": slack_file, "alt_text": "a chart"}
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C1", text="x", blocks=json.loads(json.dumps([block])))
        assert refused.value.response["error"] == "invalid_blocks"
    assert len(take_refusals()) == 3
