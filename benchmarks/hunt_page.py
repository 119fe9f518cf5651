"""The labelling page's response times, from a real ``skgalaxy hunt`` server.

``skgalaxy hunt`` runs as its own process on 5,000 and 50,000 gz1_sdss_64
galaxies (default hunter: MorphologyTransformer -> AHUNTDetector, the
statistics measured on every core, 10 queries per round); an HTTP client on
the same machine times what the page does: load the round's state, fetch a
galaxy's picture, save a label, draw the feature map, page through the
ranked pool, ask for "more like this" and label those in bulk, and "Next
round" (teaching on every label so far, then the next queries). Labels are
the Galaxy Zoo classes ("merger" or "not interesting"). Target: every
request but "Next round" within 200 ms, the map within 2 s. ``--images``
beyond the set's size repeats it turned by 90°.

    python benchmarks/hunt_page.py [--images 5000 50000] [--rounds 3] [--smoke]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _report import load_gz1_morphology, markdown_table, publish


def start_server(data, session):
    process = subprocess.Popen(
        [sys.executable, "-m", "skgalaxy", "hunt", "--data", str(data)]
        + ["--session", str(session), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    start = time.perf_counter()
    for line in process.stdout:
        if line.startswith("Labelling page: "):
            return process, line.split(": ", 1)[1].strip(), time.perf_counter() - start
    sys.exit(f"the server did not start (exit {process.wait(timeout=10)})")


def timed(call, *args, **kwargs):
    start = time.perf_counter()
    answer = call(*args, **kwargs)
    answer.raise_for_status()
    return answer, (time.perf_counter() - start) * 1000


def percentiles(milliseconds):
    values = np.asarray(milliseconds)
    return [
        len(values),
        f"{np.median(values):.1f}",
        f"{np.percentile(values, 95):.1f}",
        f"{values.max():.1f}",
    ]


def browse(client, times, queries):
    """What the page does beyond the round: the map, the ranked pool, more
    like this and a bulk label."""
    times["map"].append(timed(client.get, "/api/map")[1])
    for page in range(3):
        times["ranked"].append(timed(client.get, f"/api/ranked?page={page}")[1])
    similar, ms = timed(client.get, f"/api/similar/{queries[0]['index']}")
    times["similar"].append(ms)
    indices = [item["index"] for item in similar.json()["items"]]
    body = {"indices": indices, "label": "not interesting"}
    times["labels"].append(timed(client.post, "/api/labels", json=body)[1])


def hunt(client, truth, rounds):
    times = {name: [] for name in ROWS}
    for _ in range(rounds):
        state, ms = timed(client.get, "/api/state")
        times["state"].append(ms)
        browse(client, times, state.json()["queries"])
        for query in state.json()["queries"]:
            index = query["index"]
            times["image"].append(timed(client.get, f"/api/image/{index}.png")[1])
            label = "merger" if truth[index] == "merger" else "not interesting"
            body = {"index": index, "label": label}
            times["label"].append(timed(client.post, "/api/label", json=body)[1])
        times["round"].append(timed(client.post, "/api/round")[1])
        print({k: np.round(np.median(v), 1) for k, v in times.items()}, flush=True)
    return times


#: The requests timed, and how the table names them.
ROWS = {
    "state": "round state (GET /api/state)",
    "image": "a galaxy's picture (GET /api/image)",
    "label": "save a label (POST /api/label)",
    "map": "the feature map (GET /api/map)",
    "ranked": "a page of the ranked pool (GET /api/ranked)",
    "similar": "more like this, 12 neighbours (GET /api/similar)",
    "labels": "a bulk label of 12 (POST /api/labels)",
    "round": "Next round: teach + next queries",
}


HEADER = ["request", "n", "median ms", "95th pct ms", "max ms"]


def pool_of(images, y, n):
    """``n`` galaxies and their classes; beyond the set's size it repeats,
    each copy turned by a further 90°."""
    copies = -(-n // len(images))
    turned = [
        np.rot90(images[: n - k * len(images)], k % 4, axes=(1, 2))
        for k in range(copies)
    ]
    pool = np.concatenate(turned)
    return pool, np.tile(y, copies)[:n]


def time_page(images, truth, rounds):
    """Start ``skgalaxy hunt`` on ``images`` and time ``rounds`` rounds."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "galaxies.npz"
        np.savez(data, images=images)
        process, url, start_s = start_server(data, Path(folder) / "session")
        try:
            base, token = url.split("/?token=")
            headers = {"X-Hunt-Token": token}
            with httpx.Client(base_url=base, headers=headers, timeout=1200) as client:
                return hunt(client, truth, rounds), start_s
        finally:
            process.terminate()
            process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    sizes = [300] if args.smoke else args.images
    rounds = 1 if args.smoke else args.rounds
    parts = []
    for n in sizes:
        times, start_s = time_page(*pool_of(images, y, n), rounds)
        rows = [[title, *percentiles(times[name])] for name, title in ROWS.items()]
        parts.append(
            f"{n:,} galaxies: ready to serve {start_s:.0f} s after launch, the "
            "first fit included.\n\n" + markdown_table(HEADER, rows)
        )
    body = (
        "`skgalaxy hunt` on gz1_sdss_64 galaxies (64x64, no labels at the start), "
        f"{rounds} rounds of 10 queries labelled over HTTP from the same machine; "
        "milliseconds per request (target: within 200 ms but for Next round, "
        "the map within 2 s).\n\n" + "\n\n".join(parts)
    )
    publish("hunt_page", "The labelling page's response times", body, smoke=args.smoke)


if __name__ == "__main__":
    main()
