"""The hunts a user meets by default, on real mergers: each route at its defaults.

Simulated hunts on real SDSS galaxies (gz1_sdss_64; normal = elliptical,
spiral, edge_on; anomaly = merger) under both protocols of
``benchmarks/ahunt_hunt.py`` (2 % mergers among the arrivals, 20 nights of 10
queries; the AHUNT paper's 11.5 %, 15 queries a night), every AHUNT route
hunting ``interest={"merger": 1}`` with ``query`` excluding what was shown
and ``teach`` on every label so far (skgalaxy.active.simulate_hunt):

- ``AHUNTDetector()`` on the images as observed (what ``skgalaxy hunt`` and
  ``skgalaxy train ahunt`` run, as MorphologyTransformer -> AHUNTDetector);
- ``AHUNTDetector(backbone="cnn")`` on ArcsinhScaler images (the CNN, the
  default on images before);
- the design card's ArcsinhScaler -> FlowVAETransformer() -> AHUNTDetector(),
  the FlowVAE refitted without labels on all images for every seed;
- peers: an IsolationForest on the pixels (no labels), and the morphology
  route's classifier on as many labels drawn at random.

3 seeds (nights, networks, embeddings); median (min-max) of the final
rank-weighted score (RWS) and of the share of the late queries (rounds after
the half) that showed a merger.

    python benchmarks/hunt_routes.py [--seeds 3] [--smoke]
"""

import argparse
import time

import numpy as np
import pandas as pd
from _report import load_gz1_morphology, markdown_table, median_range, publish
from ahunt_hunt import INTEREST, N_INITIAL, PROTOCOLS
from sklearn.ensemble import IsolationForest

from skgalaxy import AHUNTDetector, ArcsinhScaler, FlowVAETransformer
from skgalaxy.active import (
    ActiveHunter,
    RandomLabelHunter,
    UnsupervisedHunter,
    make_nights,
    simulate_hunt,
)
from skgalaxy.morphology import MorphologyTransformer

IMAGES = "AHUNTDetector() on the images (skgalaxy hunt's route)"
CNN = "AHUNTDetector(backbone='cnn') on ArcsinhScaler images (the former default)"
FLOWVAE = "ArcsinhScaler -> FlowVAETransformer() -> AHUNTDetector() (design card)"
FOREST = "IsolationForest on the pixels (no labels)"
RANDOM = "morphology route, the same number of labels drawn at random"


def detector(seed, n_queries, **params):
    return AHUNTDetector(
        n_queries=n_queries, interest=INTEREST, random_state=seed, **params
    )


def hunters(seed, n_queries, inputs, smoke):
    images, scaled, latent, statistics = inputs
    epochs = {"max_epochs": 2, "epochs_per_round": 1} if smoke else {}
    return {
        IMAGES: ActiveHunter(detector(seed, n_queries, **epochs), images),
        CNN: ActiveHunter(detector(seed, n_queries, backbone="cnn", **epochs), scaled),
        FLOWVAE: ActiveHunter(detector(seed, n_queries, **epochs), latent),
        FOREST: UnsupervisedHunter(IsolationForest(random_state=seed), images),
        RANDOM: RandomLabelHunter(
            detector(seed, n_queries, **epochs),
            statistics,
            n_queries,
            random_state=seed,
        ),
    }


def flow_vae_latent(scaled, seed, smoke):
    """The design card's embedding, fitted without labels for this seed."""
    start = time.perf_counter()
    vae = FlowVAETransformer(random_state=seed, **({"max_epochs": 1} if smoke else {}))
    latent = vae.fit_transform(scaled)
    return latent, time.perf_counter() - start


def route_rows(results, n_nights):
    rows = []
    for method, part in results.groupby("method", sort=False):
        final = part[part["round"] == n_nights].sort_values("seed")
        late = part[part["round"] > n_nights // 2].groupby("seed")["query_rate"]
        late = late.mean()
        rows.append(
            [
                method,
                median_range(final["rws"]),
                "-" if late.isna().all() else median_range(late),
            ]
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    if args.smoke:
        keep = np.r_[np.flatnonzero(y != "merger")[:300], np.flatnonzero(y == "merger")]
        images, y = images[keep], y[keep]
    seeds = [0] if args.smoke else list(range(args.seeds))
    scaled = ArcsinhScaler().fit_transform(images)
    statistics = MorphologyTransformer().fit_transform(images)
    results, fit_seconds = {name: [] for name in PROTOCOLS}, []
    for seed in seeds:
        latent, seconds = flow_vae_latent(scaled, seed, args.smoke)
        fit_seconds.append(seconds)
        inputs = (images, scaled, latent, statistics)
        for protocol, settings in PROTOCOLS.items():
            n_nights = 2 if args.smoke else settings["n_nights"]
            initial, nights = make_nights(
                y,
                n_nights,
                anomaly_labels=["merger"],
                n_initial=60 if args.smoke else N_INITIAL,
                anomaly_fraction=settings["anomaly_fraction"],
                random_state=seed,
            )
            result = simulate_hunt(
                hunters(seed, settings["n_queries"], inputs, args.smoke),
                y,
                initial,
                nights,
                interest_labels=["merger"],
            )
            result["seed"] = seed
            results[protocol].append(result)
            final = result[result["round"] == n_nights].set_index("method")["rws"]
            print(f"{protocol} seed {seed}:", final.round(3).to_dict(), flush=True)
    sections = []
    for protocol, settings in PROTOCOLS.items():
        n_nights = 2 if args.smoke else settings["n_nights"]
        table = markdown_table(
            ["route", "final RWS", f"mergers among queries, rounds > {n_nights // 2}"],
            route_rows(pd.concat(results[protocol]), n_nights),
        )
        sections.append(
            f"**Protocol {protocol}**: {N_INITIAL} labelled normal galaxies at the "
            f"start, {n_nights} nights, {settings['n_queries']} queries a night, "
            f"{settings['anomaly_fraction']:.1%} mergers among the arrivals.\n\n"
            + table
        )
    body = (
        f"Seeds {seeds}; {len(y)} galaxies, {int((y == 'merger').sum())} mergers; "
        "every estimator at its defaults; the FlowVAE fitted per seed in "
        f"{median_range(fit_seconds, '.0f')} s.\n\n" + "\n\n".join(sections)
    )
    publish(
        "hunt_routes",
        "The default hunting routes on real mergers",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
