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


@pytest.fixture
def catalogued(tmp_path):
    import pandas as pd

    images, names = small_galaxies(40, size=16)
    known = np.full(40, None, dtype=object)
    known[:6] = names[:6]
    from sklearn.pipeline import make_pipeline

    from skgalaxy import MorphologyTransformer

    # The default route: the hunt's features are a dozen statistics.
    hunter = make_pipeline(MorphologyTransformer(), TINY["ahunt"](backbone="mlp"))
    session = HuntSession(images, hunter, directory=tmp_path / "hunt", y=known)
    catalogue = pd.DataFrame(
        {
            "id": [f"J{i:03d}" for i in range(40)],
            "ra": 150 + np.arange(40) / 100,
            "dec": np.full(40, 2.5),
        }
    )
    link = "https://viewer.example/?ra={ra}&dec={dec}"
    app = create_app(session, TOKEN, catalogue=catalogue, link=link)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["X-Hunt-Token"] = TOKEN
    return session, client


def test_cards_say_what_each_galaxy_is(catalogued):
    session, client = catalogued
    state = client.get("/api/state").json()
    card = state["queries"][0]
    i = card["index"]
    assert card["id"] == f"J{i:03d}"
    assert card["fields"] == {"ra": pytest.approx(150 + i / 100), "dec": 2.5}
    assert card["link"] == f"https://viewer.example/?ra={150 + i / 100}&dec=2.5"
    scores = session.anomaly_scores()
    assert card["score"] == pytest.approx(scores[i])
    assert state["score_source"].startswith("classifier")
    # The labels the hunt started from are class buttons from the first round.
    assert set(state["classes"]) >= set(session.labels()["label"])
    assert 0 <= state["random_rate"] <= 1


def test_the_ranked_pool_pages_most_interesting_first(catalogued):
    session, client = catalogued
    scores = session.anomaly_scores()
    first = client.get("/api/ranked", params={"per_page": 15}).json()
    second = client.get("/api/ranked", params={"page": 1, "per_page": 15}).json()
    ranked = [c["index"] for c in first["items"] + second["items"]]
    assert first["total"] == 40 and len(ranked) == 30 and len(set(ranked)) == 30
    assert np.all(np.diff(scores[ranked]) <= 0)
    labelled = dict(zip(session.labels()["index"], session.labels()["label"]))
    for card in first["items"]:
        assert card["label"] == labelled.get(card["index"])
    for params in ({"page": -1}, {"per_page": 0}, {"per_page": 201}):
        assert client.get("/api/ranked", params=params).status_code == 422


def test_more_like_this_gives_the_nearest_in_the_hunts_features(catalogued):
    session, client = catalogued
    answer = client.get("/api/similar/3", params={"k": 5}).json()
    assert answer["of"]["index"] == 3
    got = [c["index"] for c in answer["items"]]
    # A dozen statistics: the principal axes keep their distances.
    X = session.features.astype(np.float64)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    distances = np.square(X - X[3]).sum(axis=1)
    distances[3] = np.inf
    assert 3 not in got and set(got) == set(np.argsort(distances)[:5].tolist())
    assert client.get("/api/similar/40").status_code == 404
    assert client.get("/api/similar/3", params={"k": 0}).status_code == 422


def test_bulk_labels_beyond_the_round_are_saved_at_once(catalogued):
    session, client = catalogued
    pending = set(session.pending().tolist()) | set(session.query().tolist())
    others = [i for i in range(6, 40) if i not in pending][:3]
    answer = client.post("/api/labels", json={"indices": others, "label": "merger"})
    assert answer.status_code == 200 and answer.json()["saved"]
    given = session.labels().set_index("index")["label"]
    assert all(given[i] == "merger" for i in others)
    before = len(session.labels())
    for body in (
        {"indices": [], "label": "x"},
        {"indices": [0, 40], "label": "x"},
        {"indices": [7], "label": "nan"},
    ):
        assert client.post("/api/labels", json=body).status_code in (404, 422)
    assert len(session.labels()) == before


def test_the_map_marks_labelled_shown_and_unseen(catalogued):
    session, client = catalogued
    shown = session.query()
    data = client.get("/api/map").json()
    assert len(data["x"]) == len(data["y"]) == 40
    state = np.array(data["state"])
    assert (state[session.labels()["index"].to_numpy()] == 2).all()
    unlabelled_shown = [i for i in shown if i not in set(session.labels()["index"])]
    assert (state[unlabelled_shown] == 1).all()
    assert data["states"][0] == "unseen" and (state == 0).sum() == 40 - 6 - len(shown)
    assert np.std(data["x"]) > 0 and np.std(data["y"]) > 0


def test_a_link_template_is_checked_against_the_catalogue(catalogued, tmp_path):
    import pandas as pd

    session, _ = catalogued
    catalogue = pd.DataFrame({"id": [str(i) for i in range(40)]})
    with pytest.raises(ValueError, match=r"names \['ra'\]"):
        create_app(session, TOKEN, catalogue=catalogue, link="https://x/?ra={ra}")
    with pytest.raises(ValueError, match="http"):
        create_app(session, TOKEN, catalogue=catalogue, link="javascript:alert(1)")
    with pytest.raises(ValueError, match="39 rows for a pool of 40"):
        create_app(session, TOKEN, catalogue=catalogue.iloc[:39])


def test_images_take_a_stretch(hunt):
    from io import BytesIO

    from PIL import Image

    _, client = hunt
    stored = np.asarray(Image.open(BytesIO(client.get("/api/image/0.png").content)))
    linear = client.get("/api/image/0.png", params={"stretch": "linear"})
    arcsinh = client.get("/api/image/0.png", params={"stretch": "arcsinh"})
    linear, arcsinh = (
        np.asarray(Image.open(BytesIO(r.content))) for r in (linear, arcsinh)
    )
    assert linear.shape == arcsinh.shape == stored.shape
    assert arcsinh.mean() > linear.mean()  # arcsinh lifts the faint pixels
    bad = client.get("/api/image/0.png", params={"stretch": "log"})
    assert bad.status_code == 422


def test_display_png_stretches_each_band_on_request():
    from io import BytesIO

    from PIL import Image

    image = np.zeros((8, 8, 3), np.float32)
    image[..., 0] = np.linspace(0, 1, 64).reshape(8, 8)
    image[..., 1] = 100 * image[..., 0]  # a band 100 times brighter
    shown = np.asarray(Image.open(BytesIO(display_png(image, stretch="bands"))))
    np.testing.assert_array_equal(shown[..., 0], shown[..., 1])
    together = np.asarray(Image.open(BytesIO(display_png(image, stretch="linear"))))
    assert together[..., 0].max() < together[..., 1].max()


def test_serve_prepares_the_round_and_map_and_answers_without_delay(hunt, monkeypatch):
    import socket

    import uvicorn

    from skgalaxy.app import _views, serve

    session, _ = hunt
    seen, projected = {}, []
    project = _views._view_space
    monkeypatch.setattr(
        _views, "_view_space", lambda f: projected.append(1) or project(f)
    )

    def run(server, sockets):
        seen["pending"] = len(session.pending())
        seen["map_projected"] = len(projected)
        # Accepted connections inherit the option: no ~40 ms Nagle wait.
        option = sockets[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        seen["no_delay"] = bool(option)
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", run)
    serve(session, open_browser=False)
    assert seen == {"pending": 4, "map_projected": 1, "no_delay": True}
