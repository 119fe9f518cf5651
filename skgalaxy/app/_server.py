"""The labelling web page of a hunt: a FastAPI app over a HuntSession."""

import io
import secrets
import socket
import threading
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..active import NOT_INTERESTING
from ._views import HuntViews

__all__ = ["MAX_BODY_BYTES", "create_app", "display_png", "serve"]

STATIC = Path(__file__).with_name("static")

#: Largest request body the server reads (a label or an interest is tiny).
MAX_BODY_BYTES = 64 * 1024

#: Display stretches of :func:`display_png`.
STRETCHES = ("auto", "linear", "arcsinh", "bands")
#: Most galaxies one bulk label may name.
MAX_BULK = 500

#: The names this machine answers to on the loopback interface.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class _Gate:
    """Refuse a request before the app reads a byte of its body.

    An ASGI middleware: the token (``?token=`` or ``X-Hunt-Token``) is
    checked first (403), then the body's declared size (413 past
    ``MAX_BODY_BYTES``; 411 for a body of undeclared size).
    """

    def __init__(self, app, token):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [None])[0] or headers.get(
            b"x-hunt-token", b""
        ).decode("latin-1")
        length = headers.get(b"content-length")
        refusal = None
        if not given or not secrets.compare_digest(given, self.token):
            refusal = (403, "missing or wrong token")
        elif b"transfer-encoding" in headers and length is None:
            refusal = (411, "a request body needs a Content-Length")
        elif length is not None and (
            not length.isdigit() or int(length) > MAX_BODY_BYTES
        ):
            refusal = (413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        if refusal is not None:
            response = JSONResponse({"detail": refusal[1]}, status_code=refusal[0])
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def _page():
    """The page with its style and script inlined: one request, one token."""
    html = (STATIC / "index.html").read_text()
    html = html.replace("/*STYLE*/", (STATIC / "style.css").read_text())
    return html.replace("/*SCRIPT*/", (STATIC / "app.js").read_text())


def display_png(image, size=None, stretch="auto"):
    """Render one NHWC image as a PNG for the eye.

    Single-band images are grey; more than three bands show the first three.

    Parameters
    ----------
    image : array-like of shape (H, W, C)
        The image.
    size : int or None, default=None
        Side of the square PNG (nearest-neighbour upscaling); None keeps the
        image's size.
    stretch : {"auto", "linear", "arcsinh", "bands"}, default="auto"
        "linear": the 0.5th to 99.5th percentiles mapped onto black to
        white; "arcsinh": the same through an arcsinh curve, which brings
        out faint outskirts; "bands": arcsinh with each band's own
        percentiles (colours balanced); "auto": uint8 images as stored,
        float images as "arcsinh".

    Returns
    -------
    png : bytes
        The PNG file's content.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.app import display_png
    >>> display_png(np.zeros((8, 8, 3), np.uint8))[:4]
    b'\\x89PNG'
    """
    from PIL import Image

    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if stretch == "auto":
        stretch = None if image.dtype == np.uint8 else "arcsinh"
    if stretch is not None:
        image = _stretched(np.nan_to_num(image.astype(np.float64)), stretch)
    image = image[..., 0] if image.shape[-1] in (1, 2) else image[..., :3]
    picture = Image.fromarray(np.ascontiguousarray(image))
    if size is not None:
        picture = picture.resize((size, size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _stretched(values, stretch):
    """uint8 display values of float pixels (see :func:`display_png`)."""
    axis = (0, 1) if stretch == "bands" else None
    low = np.percentile(values, 0.5, axis=axis)
    high = np.percentile(values, 99.5, axis=axis)
    scaled = np.clip((values - low) / np.maximum(high - low, 1e-12), 0, 1)
    if stretch != "linear":
        scaled = np.arcsinh(10 * scaled) / np.arcsinh(10)
    return np.rint(255 * scaled).astype(np.uint8)


class LabelIn(BaseModel):
    index: int
    label: str | None


class BulkLabelIn(BaseModel):
    indices: list[int]
    label: str | None


class InterestIn(BaseModel):
    interest: dict[str, float] | None


def _classes(session):
    """Label buttons: the model's first classes, those named since, 'not interesting'.

    In the order they were first named, so a key keeps its class all hunt long.
    """
    hunter = session.hunter_
    first = getattr(hunter, "initial_classes_", [])
    names = dict.fromkeys(str(c) for c in [*first, *session.label_names()])
    names.pop(NOT_INTERESTING, None)
    names.pop(str(hunter.reserve_label), None)
    return [*names, NOT_INTERESTING]


def create_app(session, token, hosts=LOOPBACK_HOSTS, *, catalogue=None, link=None):
    """Build the web app of a hunt.

    Every request must carry ``token`` (as ``?token=`` or the
    ``X-Hunt-Token`` header) or is refused with 403 before its body is
    read; bodies over ``MAX_BODY_BYTES`` are refused (413), and so is a
    request whose ``Host`` is not one of ``hosts`` (400; this stops DNS
    rebinding: a page elsewhere that makes its name point at this machine
    still sends its own name). The app opens no file
    the browser names: images are served by their index in the session's
    pool, labels are checked by :meth:`~skgalaxy.active.HuntSession.as_label` and
    committed before the answer says they are saved.

    Parameters
    ----------
    session : skgalaxy.active.HuntSession
        The hunt the page shows and drives.
    token : str
        The secret of this server.
    hosts : sequence of str, default=LOOPBACK_HOSTS
        The host names requests may be addressed to.
    catalogue : pandas.DataFrame or None, default=None
        One row per pool sample: its ``id`` column titles each card, the
        other columns (e.g. ``ra``, ``dec``, ``redshift``) are shown on it.
    link : str or None, default=None
        A URL template filled from a card's catalogue row, e.g.
        ``"https://www.legacysurvey.org/viewer?ra={ra}&dec={dec}&zoom=16"``:
        each card links there.

    Returns
    -------
    app : fastapi.FastAPI
        The application (serve it with uvicorn, or :func:`serve`).

    Examples
    --------
    >>> from skgalaxy.app import create_app
    >>> app = create_app(session, token="secret")  # doctest: +SKIP
    """
    app = FastAPI(
        title="skgalaxy hunt", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(_Gate, token=token)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    busy = threading.Lock()
    views = HuntViews(session, catalogue, link)

    def state():
        pending = session.query()
        history = session.history()
        history["new_classes"] = [
            ", ".join(map(str, c)) for c in history["new_classes"]
        ]
        scores = views.scores()
        return {
            "round": session.round_ + 1,
            "n_pool": len(session.X),
            "queries": views.cards(pending),
            "score_source": views.score_source(),
            # A random draw finds galaxies of interest at their rate in the
            # pool, which the model's mean interest score estimates.
            "random_rate": float(np.clip(scores.mean(), 0, 1)),
            "classes": _classes(session),
            "interest": session.interest,
            "effective_interest": session.effective_interest(),
            "history": history.astype(object)
            .where(history.notna(), None)
            .to_dict(orient="records"),
        }

    def prepare():
        """The round's queries, the scores and the map's projection."""
        state()
        views.map()

    # serve() prepares them before it announces the page, which then opens at once.
    app.state.prepare = prepare
    html = _page()

    @app.get("/", response_class=HTMLResponse)
    def page():
        return html

    @app.get("/api/state")
    def get_state():
        return state()

    def check_index(index):
        if not 0 <= index < len(session.X):
            raise HTTPException(status_code=404, detail="no such image")

    @app.get("/api/image/{index}.png")
    def image(index: int, size: int | None = None, stretch: str = "auto"):
        check_index(index)
        if size is not None and not 8 <= size <= 1024:
            raise HTTPException(status_code=422, detail="size must be in [8, 1024]")
        if stretch not in STRETCHES:
            raise HTTPException(
                status_code=422, detail=f"stretch must be one of {list(STRETCHES)}"
            )
        return Response(
            display_png(session.X[index], size, stretch),
            media_type="image/png",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    @app.post("/api/label")
    def post_label(body: LabelIn):
        if body.index not in set(session.pending().tolist()):
            raise HTTPException(
                status_code=422, detail="only this round's galaxies can be labelled"
            )
        try:
            label = session.as_label(body.label)
            round_ = session.label(body.index, label)
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"index": body.index, "label": label, "round": round_, "saved": True}

    @app.post("/api/labels")
    def post_labels(body: BulkLabelIn):
        """One label for many galaxies of the pool (browsing, "more like this")."""
        if not body.indices or len(body.indices) > MAX_BULK:
            raise HTTPException(
                status_code=422, detail=f"give 1 to {MAX_BULK} galaxies"
            )
        for index in body.indices:
            check_index(index)
        try:
            label = session.as_label(body.label)
            round_ = session.label(body.indices, [label] * len(body.indices))
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"indices": body.indices, "label": label, "round": round_, "saved": True}

    @app.get("/api/ranked")
    def ranked(page: int = 0, per_page: int = 40):
        if page < 0 or not 1 <= per_page <= 200:
            raise HTTPException(
                status_code=422, detail="page >= 0 and per_page in [1, 200]"
            )
        return views.ranked(page, per_page)

    @app.get("/api/similar/{index}")
    def similar(index: int, k: int = 12):
        check_index(index)
        if not 1 <= k <= 100:
            raise HTTPException(status_code=422, detail="k must be in [1, 100]")
        return {"of": views.cards([index])[0], "items": views.similar(index, k)}

    @app.get("/api/map")
    def feature_map():
        return views.map()

    @app.post("/api/interest")
    def post_interest(body: InterestIn):
        try:
            session.set_interest(body.interest)
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return state()

    @app.post("/api/round")
    def next_round():
        if not busy.acquire(blocking=False):
            raise HTTPException(status_code=409, detail="a round is being taught")
        try:
            session.teach()
        except ValueError as exc:  # e.g. nothing labelled to learn from
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        finally:
            busy.release()
        return state()

    @app.get("/api/export.csv")
    def export():
        return Response(
            session.export_labels(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="labels.csv"'},
        )

    return app


def serve(
    session,
    *,
    host="127.0.0.1",
    port=0,
    token=None,
    open_browser=True,
    catalogue=None,
    link=None,
):
    """Serve the labelling page of ``session`` until interrupted.

    Parameters
    ----------
    session : skgalaxy.active.HuntSession
        The hunt.
    host : str, default="127.0.0.1"
        The address to bind: this machine only, unless told otherwise.
    port : int, default=0
        The port; 0 picks a free one.
    token : str or None, default=None
        The secret every request must carry; None draws one.
    open_browser : bool, default=True
        Open the page in the default browser, where there is one.
    catalogue : pandas.DataFrame or None, default=None
        One row per pool sample, shown on its card (see :func:`create_app`).
    link : str or None, default=None
        A URL template filled from a card's catalogue row; each card links
        there (see :func:`create_app`).

    Examples
    --------
    >>> from skgalaxy.app import serve
    >>> serve(session, port=8765)  # doctest: +SKIP
    """
    import uvicorn

    token = token or secrets.token_urlsafe(16)
    app = create_app(
        session,
        token,
        hosts=(*LOOPBACK_HOSTS, host),
        catalogue=catalogue,
        link=link,
    )
    app.state.prepare()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, Nagle's algorithm holds
    # each response's body until the client's delayed ACK, about 40 ms.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((host, port))
    listener.listen(128)  # connections wait in the backlog until uvicorn serves
    url = f"http://{host}:{listener.getsockname()[1]}/?token={token}"
    print(f"Labelling page: {url}", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[listener])
