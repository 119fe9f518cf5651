"""AHUNTDetector: simulated hunts for real mergers, personalisation, time per round.

1. Real SDSS galaxies (gz1_sdss_64): normal = elliptical, spiral, edge_on;
   anomaly = merger. Labelled normal galaxies to start, then nights of new
   arrivals, each round every method may ask the oracle (the true labels)
   about ``n_queries`` galaxies, then ranks the whole pool. Two protocols:

   - "2 %": about 2 % mergers among the arrivals (all 92 used), 20 nights,
     10 queries per round;
   - "paper": the AHUNT paper's anomaly rate, about 11.5 % mergers among the
     arrivals, 15 queries per round, as many nights as the 92 mergers allow.

   Side by side every round (skgalaxy.active), every AHUNT-based method
   hunting ``interest={"merger": 1}``: AHUNT on images (plain CNN; with
   ``--image-backbones cnn d4`` also the D4-equivariant one); AHUNT on
   FlowVAETransformer and on ContrastiveTransformer embeddings (the
   ArcsinhScaler -> transformer -> AHUNT pipeline), and on
   MorphologyTransformer's asymmetry, concentration, Gini, M20 and colours,
   measured on the images as observed (opt-in ``--features ... CAE``:
   CAEAnomalyDetector's bottleneck codes; ``FlowVAE+CAE``,
   ``FlowVAE+morphology``: both side by side; each transformer is fitted
   once, without labels, on all images, seeded by ``--embedding-seed``), with
   and without blending in the unsupervised score away from the labels; the
   paper's baselines:
   IsolationForest on raw pixels, on each static embedding and on AHUNT's
   learnt latent space (the first image AHUNT's last hidden layer, refitted
   each round); the mean distance to the 20 nearest neighbours
   (KNeighborsDetector) on each standardised embedding; and the same
   embedding classifier trained from scratch on as many randomly drawn
   labels (no active learning). Several seeds
   (nights and networks). And per embedding, how well the same AHUNT
   detector ranks mergers it has not seen: the final pool with every label
   known, each galaxy scored out-of-fold (5-fold).
2. Personalisation on make_galaxies with two anomaly types: interest on one
   type, then on the other; share of each type at the top of the ranking,
   hunting on the images (AHUNT's CNN) and on MorphologyTransformer's
   statistics (AHUNT's MLP), the same seeds as the hunts.
3. Wall time per round (query + teach), images vs embeddings.
4. What ``contamination="auto"`` flags in the final pool, with the interest
   scores calibrated (the default) and raw.

    python benchmarks/ahunt_hunt.py [--seeds 3] [--vae-epochs 5] [--ssl-epochs 30]
                                    [--embedding-seed 0]
                                    [--features FlowVAE contrastive morphology
                                     [CAE] [FlowVAE+CAE] [FlowVAE+morphology]]
                                    [--image-backbones cnn [d4]] [--personal-size 64]
                                    [--personal-features images morphology]
                                    [--part all|personal|hunts] [--smoke]
                                    [--set NAME=VALUE ... [--section NAME]]

``--set`` changes AHUNTDetector parameters in every hunt (images, embeddings,
personalisation) and records into the section ``ahunt_hunt_variant``
(``ahunt_personalisation_variant`` with ``--part personal``) or the one
``--section`` names: a way to measure a candidate default beside the recorded
``ahunt_hunt`` and ``ahunt_personalisation`` sections. For a variant of the
hunt on embeddings alone, ``--image-backbones`` with no name skips the hunts on
images and ``--part hunts`` the personalisation (on images too). ``--section``
without ``--set`` records a subset of the methods at the defaults, e.g. the
image hunts with both backbones and no learnt embeddings::

    python benchmarks/ahunt_hunt.py --features --image-backbones cnn d4 \
        --part hunts --section ahunt_hunt_d4_images
"""

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import (
    add_set_option,
    load_gz1_morphology,
    markdown_table,
    median_range,
    publish,
)
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgalaxy import (
    AHUNTDetector,
    ArcsinhScaler,
    CAEAnomalyDetector,
    ContrastiveTransformer,
    FlowVAETransformer,
    MorphologyTransformer,
)
from skgalaxy.active import (
    ActiveHunter,
    Hunter,
    HuntSession,
    RandomLabelHunter,
    UnsupervisedHunter,
    make_nights,
    simulate_hunt,
)
from skgalaxy.anomaly import KNeighborsDetector
from skgalaxy.datasets import make_galaxies
from skgalaxy.metrics import anomaly_ranking_report
from skgalaxy.plotting import plot_hunt_curves

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "images"
#: What ``--features`` may name: one model's embeddings, or several side by side.
FEATURES = (
    "FlowVAE",
    "contrastive",
    "CAE",
    "morphology",
    "FlowVAE+CAE",
    "FlowVAE+morphology",
)
INTEREST = {"merger": 1.0}
PROTOCOLS = {
    "2 %": dict(anomaly_fraction=0.02, n_nights=20, n_queries=10),
    "paper": dict(anomaly_fraction=0.115, n_nights=6, n_queries=15),
}
N_INITIAL = 300


class TimedHunter(Hunter):
    """Wraps a hunter and keeps the wall time of each step."""

    def __init__(self, hunter):
        self.hunter = hunter
        self.seconds = []

    def _start(self, indices, labels):
        self.hunter.start(indices, labels)

    def _step(self, pool, oracle):
        start = time.perf_counter()
        asked = self.hunter.step(pool, oracle)
        self.seconds.append(time.perf_counter() - start)
        return asked

    def _scores(self, pool):
        return self.hunter.anomaly_scores(pool)


class LatentForestHunter(Hunter):
    """IsolationForest on the learnt latent space of another hunter's AHUNT.

    Asks nothing itself; each round it refits a forest on the pool's
    embeddings by the active hunter's current network (which steps first).
    """

    def __init__(self, active, X, seed):
        self.active, self.X, self.seed = active, X, seed

    def _start(self, indices, labels):
        pass

    def _step(self, pool, oracle):
        return np.array([], dtype=np.int64)

    def _scores(self, pool):
        embedding = self.active.session_.hunter_.embed(self.X[pool])
        forest = IsolationForest(random_state=self.seed).fit(embedding)
        return -forest.score_samples(embedding)


def detector(seed, n_queries, variant, **params):
    """AHUNT hunting mergers; ``variant`` (the ``--set`` parameters) wins."""
    return AHUNTDetector(
        n_queries=n_queries,
        interest=INTEREST,
        device="cpu",
        random_state=seed,
        **{**params, **variant},
    )


def hunters_for(seed, n_queries, scaled, features, image_epochs, backbones, variant):
    """Every method of the side-by-side hunt, keyed by its row name.

    ``features`` maps a name to static embeddings ("raw pixels" among them);
    ``backbones`` lists the CNNs of AHUNT on images, trained for
    ``image_epochs`` (``max_epochs`` and ``epochs_per_round``).
    """
    hunters, on_images = {}, []
    for backbone in backbones:
        suffix = "" if backbone == "cnn" else f", {backbone.upper()} backbone"
        on_images.append(
            ActiveHunter(
                detector(seed, n_queries, variant, backbone=backbone, **image_epochs),
                scaled,
            )
        )
        hunters[f"AHUNT, images{suffix}"] = TimedHunter(on_images[-1])
    learnt = {name: X for name, X in features.items() if name != "raw pixels"}
    for name, X in learnt.items():
        hunters[f"AHUNT, {name} embeddings"] = TimedHunter(
            ActiveHunter(detector(seed, n_queries, variant), X)
        )
        hunters[f"AHUNT classifier alone (blend='none'), {name} embeddings"] = (
            ActiveHunter(detector(seed, n_queries, variant, blend="none"), X)
        )
    for name, X in features.items():
        where = name if name == "raw pixels" else f"{name} embeddings"
        hunters[f"IsolationForest, {where}"] = UnsupervisedHunter(
            IsolationForest(random_state=seed), X
        )
    for name, X in learnt.items():
        hunters[f"kNN distance (KNeighborsDetector), {name} embeddings"] = (
            UnsupervisedHunter(make_pipeline(StandardScaler(), KNeighborsDetector()), X)
        )
    if on_images:
        hunters["IsolationForest, AHUNT's learnt latent space"] = LatentForestHunter(
            on_images[0], scaled, seed
        )
    for name, X in learnt.items():
        hunters[f"same labels drawn at random, {name} embeddings"] = RandomLabelHunter(
            detector(seed, n_queries, variant), X, n_queries, random_state=seed
        )
    return hunters


OUT_OF_FOLD = "every label known, each galaxy scored out-of-fold (5-fold), {}"


def out_of_fold_rows(features, y, pool, seed, n_queries, variant, n_round):
    """How well a model ranks mergers it has not seen, on each embedding:
    every galaxy of the final pool labelled, the same AHUNT detector scores
    each fifth of the pool after training on the other four, so no galaxy is
    scored by a model that saw its label (a hunt's ranking, by contrast,
    holds the mergers it has found and trained on). Rows as
    :func:`skgalaxy.active.simulate_hunt` gives.
    """
    truth = y[pool] == "merger"
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    rows = []
    for name, X in features.items():
        if name == "raw pixels":
            continue
        scores = np.empty(len(pool))
        for train, test in folds.split(pool, truth):
            model = detector(seed, n_queries, variant).fit(
                X[pool[train]], y[pool[train]]
            )
            scores[test] = -model.score_samples(X[pool[test]])
        top = min(50, len(pool))
        rows.append(
            {
                "round": n_round,
                "method": OUT_OF_FOLD.format(f"{name} embeddings"),
                **anomaly_ranking_report(truth, scores, top),
                "query_rate": np.nan,
                "n_pool": len(pool),
                "n_anomalies": int(truth.sum()),
            }
        )
    return rows


def auto_flags(hunters, y, pool):
    """Per AHUNT hunter, on the samples of the final pool nobody labelled:
    whether the scores read as probabilities and what ``predict``
    (``contamination="auto"``) flags, with the calibrated and the raw scores.

    The raw scores come from a copy without ``calibration_``: calibration
    changes neither training nor queries, so this is what ``calibrate=False``
    would have given.
    """
    flags = {}
    for name, timed in hunters.items():
        if not isinstance(getattr(timed, "hunter", None), ActiveHunter):
            continue
        session = timed.hunter.session_
        unlabelled = np.setdiff1d(pool, session.labels()["index"].to_numpy())
        merger = y[unlabelled] == "merger"
        raw = copy.copy(session.hunter_)
        raw.calibration_ = None
        X = timed.hunter.X[unlabelled]
        for kind, model in (("calibrated", session.hunter_), ("raw", raw)):
            score = -model.score_samples(X)
            flagged = score > 0.5
            flags[f"{name}, {kind}"] = [
                int(merger.sum()),
                float(score.sum()),
                float(np.mean((score - merger) ** 2)),
                float(merger.mean() * (1 - merger.mean())),
                int(flagged.sum()),
                merger[flagged].mean() if flagged.any() else 0.0,
                merger[flagged].sum() / max(merger.sum(), 1),
            ]
    return flags


def auto_table(flags):
    columns = [
        "mergers left",
        "sum of scores",
        "Brier score",
        "Brier, constant share",
        "flagged",
        "precision",
        "recall",
    ]
    formats = [".0f", ".1f", ".4f", ".4f", ".0f", ".3f", ".3f"]
    rows = [
        [
            name,
            *(
                median_range([f[name][i] for f in flags], fmt)
                for i, fmt in enumerate(formats)
            ),
        ]
        for name in flags[0]
    ]
    return markdown_table(["method, scores", *columns], rows)


def real_hunts(seeds, protocol, data, image_epochs, smoke):
    scaled, features, backbones, y, variant = data
    settings = PROTOCOLS[protocol]
    n_nights = 2 if smoke else settings["n_nights"]
    n_initial = 60 if smoke else N_INITIAL
    runs, timings, flags = [], [], []
    for seed in seeds:
        initial, nights = make_nights(
            y,
            n_nights,
            anomaly_labels=["merger"],
            n_initial=n_initial,
            anomaly_fraction=settings["anomaly_fraction"],
            random_state=seed,
        )
        hunters = hunters_for(
            seed,
            settings["n_queries"],
            scaled,
            features,
            image_epochs,
            backbones,
            variant,
        )
        result = simulate_hunt(
            hunters, y, initial, nights, interest_labels=["merger"], verbose=1
        )
        pool = np.concatenate([initial, *nights])
        flags.append(auto_flags(hunters, y, pool))
        out_of_fold = out_of_fold_rows(
            features, y, pool, seed, settings["n_queries"], variant, n_nights
        )
        result = pd.concat([result, pd.DataFrame(out_of_fold)], ignore_index=True)
        result["seed"] = seed
        result["protocol"] = protocol
        runs.append(result)
        timings.append(
            {
                name: np.median(h.seconds)
                for name, h in hunters.items()
                if isinstance(h, TimedHunter)
            }
        )
        final = result[result["round"] == n_nights].set_index("method")["rws"]
        print(
            f"{protocol} seed {seed} final RWS:", final.round(3).to_dict(), flush=True
        )
    arrivals = sum(len(n) for n in nights)
    return (
        pd.concat(runs, ignore_index=True),
        timings,
        flags,
        n_nights,
        arrivals,
        n_initial,
    )


def real_table(results, n_nights):
    rows = []
    for method, part in results.groupby("method", sort=False):
        final = part[part["round"] == n_nights].sort_values("seed")
        late = part[part["round"] > n_nights // 2]
        # Query hit rate over the late rounds, per seed (all queries pooled).
        late_rate = late.groupby("seed")["query_rate"].mean()
        rows.append(
            [
                method,
                median_range(final["rws"]),
                median_range(final["recall"]),
                median_range(final["mcc"]),
                "-" if late_rate.isna().all() else median_range(late_rate),
            ]
        )
    return rows


#: What the personalisation hunts on: the scaled images (AHUNT's CNN), or
#: MorphologyTransformer's statistics of the images as observed (its MLP).
PERSONAL_FEATURES = ("images", "morphology")


def two_anomaly_pool(seed, smoke, size):
    """make_galaxies normal galaxies, satellite trails and lenses, as observed."""
    n_normal, n_each = (100, 5) if smoke else (1500, 40)
    kinds = ("satellite_trail", "lens")
    parts = [
        make_galaxies(n_normal, image_size=size, random_state=seed),
        *(
            make_galaxies(
                n_each,
                image_size=size,
                anomalies=[kind],
                anomaly_fraction=1.0,
                random_state=seed + 1 + i,
            )
            for i, kind in enumerate(kinds)
        ),
    ]
    images = np.concatenate([p.images for p in parts])
    truth = np.repeat(["normal", *kinds], [n_normal, n_each, n_each]).astype(object)
    return images, truth, kinds


def personal_inputs(images, name):
    if name == "morphology":
        return MorphologyTransformer().fit_transform(images)
    return ArcsinhScaler().fit_transform(images)


def personal_hunts(seed, n_rounds, first_epochs, smoke, size, variant, features):
    """Hunt with interest on one anomaly type, then on the other: the share of
    each kind among the top of the final ranking, per input and interest."""
    images, truth, kinds = two_anomaly_pool(seed, smoke, size)
    n_known = int(np.sum(truth == "normal")) // 2
    y = np.full(len(truth), None, dtype=object)
    y[:n_known] = truth[:n_known]
    n_top = int(np.sum(truth == kinds[0]))
    shares = {}
    for name in features:
        X = personal_inputs(images, name)
        for wanted, other in (kinds, kinds[::-1]):
            det = AHUNTDetector(
                interest={wanted: 1.0, other: 0.0},
                n_queries=10,
                device="cpu",
                random_state=seed,
                **{"max_epochs": first_epochs, **variant},
            ).fit(X[:n_known], truth[:n_known])
            session = HuntSession(X, det, y=y)
            session.hunt(oracle=lambda idx: truth[idx], n_rounds=n_rounds)
            top = truth[np.argsort(-session.anomaly_scores())[:n_top]]
            shares[name, wanted, other] = [
                np.mean(top == kind) for kind in (wanted, other, "normal")
            ]
            print(
                seed, name, wanted, np.round(shares[name, wanted, other], 2), flush=True
            )
    return shares, len(truth) - 2 * n_top, n_top


def personalisation(seeds, n_rounds, first_epochs, smoke, size, variant, features):
    """Median (min-max) over seeds of each hunt's shares, one row per hunt."""
    per_seed = []
    for seed in seeds:
        shares, n_normal, n_each = personal_hunts(
            seed, n_rounds, first_epochs, smoke, size, variant, features
        )
        per_seed.append(shares)
    rows = []
    for name, wanted, other in per_seed[0]:
        values = np.array([shares[name, wanted, other] for shares in per_seed])
        rows.append(
            [name, f"interest {{{wanted}: 1, {other}: 0}}"]
            + [median_range(column, ".2f") for column in values.T]
        )
    return rows, n_normal, n_each


def personal_section(rows, n_normal, n_each, rounds, size, seeds):
    return (
        f"**Personalisation** (make_galaxies {size}x{size}: {n_normal} normal, "
        f"{n_each} satellite trails, {n_each} lenses, half of the normal ones "
        f"labelled at the start; AHUNT on the images (its CNN) or on "
        f"MorphologyTransformer's statistics (its MLP), {rounds} rounds of 10 "
        f"queries; share of each kind among the top {n_each} of the final "
        f"ranking, median (min-max) over seeds {seeds}):\n\n"
        + markdown_table(
            ["input", "interest", "wanted kind", "other kind", "normal"], rows
        )
    )


def personalisation_only(args, seeds, first_epochs, rounds, size, variant, section):
    rows, n_normal, n_each = personalisation(
        seeds, rounds, first_epochs, args.smoke, size, variant, args.personal_features
    )
    body = personal_section(rows, n_normal, n_each, rounds, size, seeds)
    title = f"AHUNTDetector{described(variant)}: personalisation"
    publish(section or "ahunt_personalisation", title, body, smoke=args.smoke)


def described(variant):
    """' (name=value, ...)' for the ``--set`` parameters, '' for none."""
    if not variant:
        return ""
    return " (" + ", ".join(f"{k}={v!r}" for k, v in variant.items()) + ")"


def scope(args):
    """' (embeddings: ...; images: ...)' for a --section run, '' otherwise."""
    if not args.section:
        return ""
    features = ", ".join(args.features) or "none"
    backbones = ", ".join(args.image_backbones) or "none"
    return f" (embeddings: {features}; images: {backbones})"


def embedders(args):
    """Factories of the unsupervised transformers the hunts run on, by name."""
    vae_epochs, ssl_epochs = (
        (1, 1) if args.smoke else (args.vae_epochs, args.ssl_epochs)
    )
    return {
        "FlowVAE": lambda: FlowVAETransformer(
            max_epochs=vae_epochs, random_state=args.embedding_seed, device="cpu"
        ),
        "contrastive": lambda: ContrastiveTransformer(
            max_epochs=ssl_epochs, random_state=args.embedding_seed, device="cpu"
        ),
        # The autoencoder's bottleneck codes (its transform), its default epochs.
        "CAE": lambda: CAEAnomalyDetector(
            max_epochs=1 if args.smoke else CAEAnomalyDetector().max_epochs,
            random_state=args.embedding_seed,
            device="cpu",
        ),
        # Measured on the images as observed, not on the arcsinh-scaled ones.
        "morphology": MorphologyTransformer,
    }


def embed(args, images, scaled):
    """Each ``--features`` name's embeddings of every image, and fit notes.

    Every transformer is fitted once, without labels, on all images; a name
    such as ``FlowVAE+CAE`` puts its models' embeddings side by side (do they
    see different mergers?).
    """
    make, fitted, notes = embedders(args), {}, []

    def embeddings(name):
        if name not in fitted and "+" in name:
            fitted[name] = np.hstack([embeddings(part) for part in name.split("+")])
        elif name not in fitted:
            transformer = make[name]()
            start = time.perf_counter()
            source = images if name == "morphology" else scaled
            fitted[name] = transformer.fit_transform(source)
            seconds = time.perf_counter() - start
            epochs = getattr(transformer, "max_epochs", None)
            notes.append(
                f"{name} measured in {seconds:.0f} s"
                if epochs is None
                else f"{name} {epochs} epochs, fitted in {seconds:.0f} s"
            )
        return fitted[name]

    return {name: embeddings(name) for name in args.features}, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--vae-epochs", type=int, default=5)
    parser.add_argument(
        "--ssl-epochs", type=int, default=ContrastiveTransformer().max_epochs
    )
    parser.add_argument(
        "--embedding-seed",
        type=int,
        default=0,
        help="random_state of the learnt transformers, each fitted once",
    )
    parser.add_argument(
        "--features",
        nargs="*",
        choices=FEATURES,
        default=["FlowVAE", "contrastive", "morphology"],
        help="learnt embeddings to hunt on (besides raw pixels)",
    )
    parser.add_argument(
        "--image-backbones",
        nargs="*",
        choices=["cnn", "d4"],
        default=["cnn"],
        help="CNNs of AHUNT on images (opt-in d4: AHUNT's D4-equivariant CNN "
        "at its default filters)",
    )
    parser.add_argument("--personal-rounds", type=int, default=8)
    parser.add_argument(
        "--personal-features",
        nargs="+",
        choices=PERSONAL_FEATURES,
        default=list(PERSONAL_FEATURES),
        help="what the personalisation hunts on",
    )
    # At 32 px a lens ring lies on its galaxy's light (anomaly_visibility: 38 %
    # of its light outshines the galaxy, against 68 % at 64 px).
    parser.add_argument("--personal-size", type=int, default=64, help="pixels")
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    add_set_option(parser, "AHUNTDetector (in every hunt)")
    parser.add_argument(
        "--section",
        default=None,
        help="RESULTS.md section (and csv/figure stem) the run writes: needed "
        "for a subset of methods (e.g. --features with no name) on the defaults; "
        "for a --set run the default is ahunt_hunt_variant, with --part "
        "personal ahunt_personalisation_variant",
    )
    parser.add_argument(
        "--part",
        choices=["all", "personal", "hunts"],
        default="all",
        help="'personal': only the personalisation, in its own RESULTS.md section; "
        "'hunts': the real-galaxy hunts without it",
    )
    args = parser.parse_args()
    variant = dict(args.set)
    if args.part == "hunts" and not (variant or args.section or args.smoke):
        parser.error(
            "--part hunts needs --set or --section (the defaults' section "
            "holds the personalisation too)"
        )
    defaults = AHUNTDetector(**variant)
    seeds = [0, 1] if args.smoke else list(range(args.seeds))  # tables pool seeds
    first_epochs = 2 if args.smoke else defaults.max_epochs
    rounds = 2 if args.smoke else args.personal_rounds

    if args.part == "personal":
        return personalisation_only(
            args,
            seeds,
            first_epochs,
            rounds,
            32 if args.smoke else args.personal_size,
            variant,
            args.section or ("ahunt_personalisation_variant" if variant else None),
        )
    images, y = load_gz1_morphology()
    if args.smoke:
        keep = np.r_[np.flatnonzero(y != "merger")[:400], np.flatnonzero(y == "merger")]
        images, y = images[keep], y[keep]
    scaled = ArcsinhScaler().fit_transform(images)
    learnt, fit_notes = embed(args, images, scaled)
    features = {"raw pixels": images, **learnt}
    data = (scaled, features, args.image_backbones, y, variant)
    # One epoch a round keeps the smoke run's image hunts (D4 above all) short.
    image_epochs = {
        "max_epochs": first_epochs,
        "epochs_per_round": 1 if args.smoke else defaults.epochs_per_round,
    }

    # A --set or --section run keeps its values and curves apart from the defaults'.
    stem = args.section or ("ahunt_hunt_variant" if variant else "ahunt_hunt")
    sections, all_results, all_timings = [], [], []
    for protocol, settings in PROTOCOLS.items():
        results, timings, flags, n_nights, arrivals, n_initial = real_hunts(
            seeds, protocol, data, image_epochs, args.smoke
        )
        all_results.append(results)
        all_timings += timings
        n_mergers = int(np.isin(y, ["merger"]).sum())
        protocol_name = "paper" if protocol == "paper" else "2pc"
        figure = FIGURES / f"{stem}_{protocol_name}.png"
        if not (args.smoke or variant):
            hunts = results[~results["method"].str.startswith("every label")]
            plot_hunt_curves(hunts).savefig(figure)
        sections.append(
            f"**Protocol {protocol}**: {n_nights} nights, {settings['n_queries']} "
            f"queries per round, {n_initial} labelled normal galaxies at the "
            f"start, {arrivals} arrivals of which {settings['anomaly_fraction']:.1%} "
            f"mergers (all {n_mergers}); curves `docs/images/{figure.name}`.\n\n"
            + markdown_table(
                [
                    "method",
                    "final RWS",
                    "final recall@50",
                    "final MCC@50",
                    f"mergers among queries, rounds > {n_nights // 2}",
                ],
                real_table(results, n_nights),
            )
            + "\n\nThe final pool's galaxies nobody labelled, scored by each "
            "hunt's last model, calibrated (the default) and raw: do the interest "
            "scores read as probabilities (their sum against the mergers left; "
            "Brier score, lower is better; 'constant share': the Brier score of "
            "always answering the share of mergers left), and what `predict` flags "
            "(`contamination='auto'`: score above 0.5; precision = mergers among "
            "the flagged, recall = share of the mergers left):\n\n" + auto_table(flags)
        )
    if not (args.smoke or variant):
        pd.concat(all_results).to_csv(Path(__file__).with_name(f"{stem}.csv"))
    size = 32 if args.smoke else args.personal_size
    personal = ""
    if args.part == "all":
        personal_rows, n_normal, n_each = personalisation(
            seeds,
            rounds,
            first_epochs,
            args.smoke,
            size,
            variant,
            args.personal_features,
        )
        personal = personal_section(
            personal_rows, n_normal, n_each, rounds, size, seeds
        )
    time_rows = [
        [name, median_range([t[name] for t in all_timings], ".2f")]
        for name in all_timings[0]
    ]
    body = (
        f"Seeds {seeds}; AHUNT defaults{described(variant)} otherwise (on images "
        f"{image_epochs['max_epochs']} epochs first, "
        f"{image_epochs['epochs_per_round']} per round); embeddings learnt on all "
        f"{len(y)} images without labels: {'; '.join(fit_notes) or 'none asked'}. "
        "Metrics over the whole cumulative pool, galaxies already shown to the "
        "oracle included; recall and MCC among the top 50; median (min-max) over "
        f"seeds. Per-round values: `benchmarks/{stem}.csv`.\n\n"
        + "\n\n".join(sections)
        + "\n\n"
        + (personal + "\n\n" if personal else "")
        + "**Wall time per round** (query + teach, median (min-max) over seeds "
        "and both protocols, of each seed's median round):\n\n"
        + markdown_table(["method", "seconds per round"], time_rows)
    )
    title = f"AHUNTDetector{described(variant)}: simulated hunts{scope(args)}"
    publish(stem, title, body, smoke=args.smoke)


if __name__ == "__main__":
    main()
