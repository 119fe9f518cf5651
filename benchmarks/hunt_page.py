"""The labelling page's response times, from a real ``skgalaxy hunt`` server.

``skgalaxy hunt`` runs as its own process on the first 5,000 gz1_sdss_64
galaxies (default hunter: ArcsinhScaler + AHUNTDetector on the images, 10
queries per round); an HTTP client on the same machine times what the page
does: load the round's state, fetch a galaxy's picture, save a label, and
"Next round" (teaching on every label so far, then the next queries). Labels
are the Galaxy Zoo classes ("merger" or "not interesting").

    python benchmarks/hunt_page.py [--images 5000] [--rounds 3] [--smoke]
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
from _report import load_gz1_morphology, markdown_table, record


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


def hunt(client, truth, rounds):
    times = {"state": [], "image": [], "label": [], "round": []}
    for _ in range(rounds):
        state, ms = timed(client.get, "/api/state")
        times["state"].append(ms)
        for query in state.json()["queries"]:
            index = query["index"]
            times["image"].append(timed(client.get, f"/api/image/{index}.png")[1])
            label = "merger" if truth[index] == "merger" else "not interesting"
            body = {"index": index, "label": label}
            times["label"].append(timed(client.post, "/api/label", json=body)[1])
        times["round"].append(timed(client.post, "/api/round")[1])
        print({k: np.round(np.median(v), 1) for k, v in times.items()}, flush=True)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    n = 300 if args.smoke else args.images
    rounds = 1 if args.smoke else args.rounds
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "galaxies.npz"
        np.savez(data, images=images[:n])
        process, url, start_s = start_server(data, Path(folder) / "session")
        try:
            base, token = url.split("/?token=")
            headers = {"X-Hunt-Token": token}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                times = hunt(client, y[:n], rounds)
        finally:
            process.terminate()
            process.wait(timeout=30)
    rows = [
        ["round state (GET /api/state)", *percentiles(times["state"])],
        ["a galaxy's picture (GET /api/image)", *percentiles(times["image"])],
        ["save a label (POST /api/label)", *percentiles(times["label"])],
        ["Next round: teach + next queries", *percentiles(times["round"])],
    ]
    body = (
        f"`skgalaxy hunt` on {n} gz1_sdss_64 galaxies (64x64, no labels at the "
        f"start; it was ready to serve {start_s:.0f} s after launch, the first "
        f"fit included), {rounds} rounds of 10 queries labelled over HTTP from "
        "the same machine; milliseconds per request.\n\n"
        + markdown_table(["request", "n", "median ms", "95th pct ms", "max ms"], rows)
    )
    print(body)
    if not args.smoke:
        record("hunt_page", "The labelling page's response times", body)


if __name__ == "__main__":
    main()
