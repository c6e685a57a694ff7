"""GET /v1/models: OpenAI's model list, which clients use to check a key."""


async def test_the_model_list_has_openais_shape_and_the_default_models(sim):
    async with sim.client() as client:
        response = await client.get("/v1/models")

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert {"gpt-realtime-2.1", "gpt-4o-mini", "gpt-4o-mini-tts"} <= {m["id"] for m in body["data"]}
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in body["data"])


async def test_the_model_list_needs_a_key(sim):
    async with sim.client(key=None) as client:
        response = await client.get("/v1/models")

    assert response.status_code == 401
