"""The labelling page's HTTP API, through FastAPI's test client."""

import numpy as np
import pytest
from conftest import TINY, small_galaxies

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from skgalaxy.active import HuntSession  # noqa: E402
from skgalaxy.app import create_app, display_png  # noqa: E402

TOKEN = "test-token"


@pytest.fixture
def hunt(tmp_path):
    images, _ = small_galaxies(40, size=16)
    session = HuntSession(images, TINY["ahunt"](), directory=tmp_path / "hunt")
    client = TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1")
    client.headers["X-Hunt-Token"] = TOKEN
    return session, client


def test_every_request_needs_the_token(hunt):
    session, client = hunt
    anonymous = TestClient(client.app, base_url="http://127.0.0.1")
    for path in ("/", "/api/state", "/api/image/0.png", "/api/export.csv"):
        assert anonymous.get(path).status_code == 403
        assert anonymous.get(path, params={"token": "wrong"}).status_code == 403
    assert (
        anonymous.post("/api/label", json={"index": 0, "label": "x"}).status_code == 403
    )
    assert anonymous.post("/api/round").status_code == 403
    assert anonymous.get("/", params={"token": TOKEN}).status_code == 200
    assert len(session.labels()) == 0


def test_the_page_is_one_self_contained_document(hunt):
    _, client = hunt
    html = client.get("/").text
    assert "<script>" in html and "/*SCRIPT*/" not in html and "/*STYLE*/" not in html
    assert "innerHTML" not in html  # labels are always inserted as text
    assert 'src="http' not in html and 'href="http' not in html  # all local
    assert 'fetch("http' not in html


def test_state_labels_new_classes_and_export(hunt):
    session, client = hunt
    state = client.get("/api/state").json()
    assert state["round"] == 1 and state["n_pool"] == 40
    shown = [q["index"] for q in state["queries"]]
    assert len(shown) == 4 and state["classes"] == ["not interesting"]
    answer = client.post("/api/label", json={"index": shown[0], "label": " merger "})
    expected = {"index": shown[0], "label": "merger", "round": 1, "saved": True}
    assert answer.json() == expected
    assert session.labels()["label"].tolist() == ["merger"]  # committed already
    client.post("/api/label", json={"index": shown[1], "label": "not interesting"})
    state = client.get("/api/state").json()
    assert state["classes"] == ["merger", "not interesting"]
    assert state["effective_interest"] == {"merger": 1.0}
    assert [q["label"] for q in state["queries"]][:2] == ["merger", "not interesting"]
    client.post("/api/label", json={"index": shown[1], "label": None})  # skipped
    csv = client.get("/api/export.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "index,label,round,time"
    assert len(csv.text.splitlines()) == 2


@pytest.mark.parametrize(
    "body, match",
    [
        ({"index": None, "label": "x"}, "index"),
        ({"label": "x"}, "index"),
        ({"index": 0, "label": "x" * 65}, "characters"),
        ({"index": 0, "label": "a\nb"}, "printable"),
        ({"index": 0, "label": ""}, "characters"),
    ],
)
def test_bad_labels_are_refused_and_change_nothing(hunt, body, match):
    session, client = hunt
    shown = session.query()
    if body.get("index") == 0:
        body = {**body, "index": int(shown[0])}
    answer = client.post("/api/label", json=body)
    assert answer.status_code == 422 and match in answer.text
    assert len(session.labels()) == 0


def test_only_this_rounds_galaxies_can_be_labelled(hunt):
    session, client = hunt
    shown = set(session.query().tolist())
    other = next(i for i in range(40) if i not in shown)
    answer = client.post("/api/label", json={"index": other, "label": "merger"})
    assert answer.status_code == 422 and len(session.labels()) == 0


def test_images_are_served_by_index_only(hunt):
    session, client = hunt
    png = client.get("/api/image/3.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert png.headers["content-type"] == "image/png"
    assert client.get("/api/image/3.png", params={"size": 128}).status_code == 200
    assert client.get("/api/image/40.png").status_code == 404
    assert client.get("/api/image/-1.png").status_code == 404
    assert client.get("/api/image/3.png", params={"size": 10**6}).status_code == 422
    for path in ("/api/image/..%2F..%2Fetc%2Fpasswd", "/../../etc/passwd", "/static/x"):
        assert client.get(path).status_code in (404, 422)


def test_a_round_teaches_and_shows_new_galaxies(hunt):
    session, client = hunt
    first = client.get("/api/state").json()["queries"]
    for query, name in zip(first, ["merger", "not interesting", "merger", "lens"]):
        client.post("/api/label", json={"index": query["index"], "label": name})
    state = client.post("/api/round").json()
    assert state["round"] == 2 and session.round_ == 1
    assert not {q["index"] for q in state["queries"]} & {q["index"] for q in first}
    row = state["history"][0]
    assert row["n_labelled"] == 4 and row["n_interest"] == 3
    assert row["new_classes"] == "merger, not interesting, lens"


def test_interest_can_be_set_and_refuses_bad_weights(hunt):
    session, client = hunt
    state = client.post("/api/interest", json={"interest": {"lens": 2.0}}).json()
    assert state["interest"] == {"lens": 2.0} and session.interest == {"lens": 2.0}
    answer = client.post("/api/interest", json={"interest": {"lens": -1.0}})
    assert answer.status_code == 422 and session.interest == {"lens": 2.0}
    assert (
        client.post("/api/interest", json={"interest": None}).json()["interest"] is None
    )


def test_display_png_stretches_float_images_and_keeps_uint8():
    from io import BytesIO

    from PIL import Image

    flat = np.zeros((8, 8, 1), np.float32)
    flat[4, 4] = 100.0
    grey = np.asarray(Image.open(BytesIO(display_png(flat))))
    assert grey.shape == (8, 8) and grey.max() == 255 and grey.min() == 0
    colour = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    shown = np.asarray(Image.open(BytesIO(display_png(colour, size=16))))
    assert shown.shape == (16, 16, 3)
    np.testing.assert_array_equal(shown[::2, ::2], colour)


def _asgi_request(app, method, path, headers, query=b""):
    """Send one request to the ASGI app; return (status, whether the body was read)."""
    import asyncio

    read = []
    sent = []

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8765),
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], bool(read)


def test_requests_are_refused_before_their_body_is_read(hunt):
    _, client = hunt
    app = client.app
    big = {"host": "127.0.0.1:8765", "content-length": str(300 * 2**20)}
    assert _asgi_request(app, "POST", "/api/label", big) == (403, False)
    with_token = {**big, "x-hunt-token": TOKEN}
    assert _asgi_request(app, "POST", "/api/label", with_token) == (413, False)
    chunked = {
        "host": "127.0.0.1",
        "x-hunt-token": TOKEN,
        "transfer-encoding": "chunked",
    }
    assert _asgi_request(app, "POST", "/api/label", chunked) == (411, False)
    elsewhere = {"host": "evil.example:8765", "x-hunt-token": TOKEN}
    assert _asgi_request(app, "GET", "/api/state", elsewhere)[0] == 400
    rebound = TestClient(app, base_url="http://evil.example")
    assert rebound.get("/api/state", params={"token": TOKEN}).status_code == 400


def test_a_round_without_labels_is_a_client_error(hunt):
    session, client = hunt
    empty = HuntSession(
        np.zeros((20, 3), np.float32) + np.arange(20)[:, None],
        TINY["ahunt"](),
    )
    answer = TestClient(create_app(empty, TOKEN), base_url="http://127.0.0.1").post(
        "/api/round", headers={"X-Hunt-Token": TOKEN}
    )
    assert answer.status_code == 422 and answer.json()["detail"]


def test_the_export_escapes_formulas(hunt):
    session, client = hunt
    shown = [q["index"] for q in client.get("/api/state").json()["queries"]]
    client.post("/api/label", json={"index": shown[0], "label": "=cmd|' /C calc'!A0"})
    csv = client.get("/api/export.csv").text
    assert "'=cmd" in csv and "\n=cmd" not in csv and ",=cmd" not in csv
