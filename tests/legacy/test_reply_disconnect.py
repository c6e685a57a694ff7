"""A caller who leaves mid-reply: daphne sees the disconnect, the partial reply is saved."""

import httpx
import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.waiting import wait_for
from voice.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_cut_off_by_the_caller_leaving_is_saved_interrupted(asgi_server, upstream, user):
    upstream.configure(llm_ttft_ms=0, llm_tokens_per_s=20)  # a reply that takes seconds
    browser = Client()
    browser.login(username=user.username, password=PASSWORD)
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": "x" * 32}
    headers = {"X-CSRFToken": "x" * 32, "Origin": asgi_server, "Referer": f"{asgi_server}/"}

    with httpx.Client(base_url=asgi_server, cookies=cookies, headers=headers, timeout=10) as http:
        call = http.post("/api/legacy/calls", json={}).json()
        with http.stream(
            "POST", "/api/legacy/replies", json={"call": call["id"], "text": "Tell me a story"}
        ) as reply:
            deltas = 0
            for line in reply.iter_lines():
                deltas += line == "event: delta"
                if deltas == 3:
                    break  # hang up mid-reply

    saved = wait_for(lambda: Message.objects.filter(call_id=call["id"], role="assistant").first())
    assert saved.interrupted is True
    assert saved.text
    assert Message.objects.get(call_id=call["id"], role="user").text == "Tell me a story"
