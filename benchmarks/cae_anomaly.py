"""CAEAnomalyDetector against the baselines, on real mergers and synthetic anomalies.

Real SDSS galaxies (gz1_sdss_64): every detector is fitted on 75 % of the
normal galaxies (elliptical, spiral, edge_on; stratified split per seed) and
scores the other 25 % together with all merger galaxies, the anomalies.
make_galaxies: fitted on normal synthetic galaxies, scoring held-out normal
galaxies mixed with each anomaly type (satellite trails, saturated stars,
lensing arcs). Side by side, in one run, per seed:

- CAEAnomalyDetector with each ``measure`` (one fitted network; ``"mse"`` is
  the plain pixel-MSE reconstruction error of that same autoencoder, the
  reference approach);
- GaussianMixtureDetector (4 components, full covariances) on the twelve
  MorphologyTransformer statistics of the images as observed, and on those
  statistics beside the CAE's 8 codes (standardised);
- IsolationForest on raw pixels and on FlowVAETransformer embeddings;
- the peers a user would pick from PyOD: its deep ``AutoEncoder`` and
  ``DeepSVDD`` (trained for as many epochs as the CAE), ``ECOD`` and ``KNN``,
  each on the ArcsinhScaler pixels and on the FlowVAE embeddings.

Reported: ROC AUC, average precision, recall among the top 1 %, and each
method's fit time (the FlowVAE's fit counted in every method on its
embeddings).

    python benchmarks/cae_anomaly.py [--seeds 3] [--epochs 20] [--smoke]
"""

import argparse
import time

import numpy as np
from _report import load_gz1_morphology, markdown_table, median_range, publish
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgalaxy import (
    ArcsinhScaler,
    CAEAnomalyDetector,
    FlowVAETransformer,
    MorphologyTransformer,
)
from skgalaxy.anomaly import GaussianMixtureDetector
from skgalaxy.datasets import make_galaxies
from skgalaxy.metrics import recall_at_k

MEASURES = ("combined", "latent", "smoothed", "mse")


def pyod_peers(seed, epochs, n_features):
    """PyOD's detectors, configured alike (seeded, quiet, on the CPU)."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.deep_svdd import DeepSVDD
    from pyod.models.ecod import ECOD
    from pyod.models.knn import KNN

    return {
        "PyOD AutoEncoder": AutoEncoder(
            epoch_num=epochs, random_state=seed, device="cpu", verbose=0
        ),
        "PyOD DeepSVDD": DeepSVDD(
            n_features=n_features, epochs=epochs, random_state=seed, verbose=0
        ),
        "PyOD ECOD": ECOD(),
        "PyOD KNN": KNN(),
    }


def timed(function, *args):
    """``function(*args)`` and the seconds it took."""
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def detector_scores(X_train, X_test, seed, epochs, vae_epochs):
    """``{method: (anomaly scores on X_test, fit seconds)}`` of every method."""
    scaler = ArcsinhScaler().fit(X_train)
    S_train, S_test = scaler.transform(X_train), scaler.transform(X_test)
    results = {}

    cae = CAEAnomalyDetector(max_epochs=epochs, random_state=seed, device="cpu")
    _, cae_s = timed(cae.fit, S_train)
    # Every measure's statistics are fitted with the network, so switching
    # `measure` re-ranks without retraining (offset_ is not used here).
    for measure in MEASURES:
        cae.set_params(measure=measure)
        name = f"CAE measure={measure}"
        if measure == "mse":
            name += " = plain pixel MSE"
        results[name] = (cae.anomaly_score(S_test), cae_s)
    results.update(
        joint_density_scores((X_train, X_test), (S_train, S_test), cae, cae_s, seed)
    )

    vae = FlowVAETransformer(max_epochs=vae_epochs, random_state=seed, device="cpu")
    Z_train, vae_s = timed(vae.fit_transform, S_train)
    Z_test = vae.transform(S_test)
    flat_train = S_train.reshape(len(S_train), -1)
    flat_test = S_test.reshape(len(S_test), -1)
    features = {
        "raw pixels": (flat_train, flat_test, 0.0),
        "FlowVAE embeddings": (Z_train, Z_test, vae_s),
    }
    for where, (F_train, F_test, extra_s) in features.items():
        forest, fit_s = timed(IsolationForest(random_state=seed).fit, F_train)
        results[f"IsolationForest, {where}"] = (
            -forest.score_samples(F_test),
            fit_s + extra_s,
        )
        for name, peer in pyod_peers(seed, epochs, F_train.shape[1]).items():
            _, fit_s = timed(peer.fit, F_train)
            results[f"{name}, {where}"] = (
                peer.decision_function(F_test),
                fit_s + extra_s,
            )
        print(f"  {where} done", flush=True)
    return results


def joint_density_scores(raw, scaled, cae, cae_s, seed):
    """GaussianMixtureDetector on the morphology statistics, then with CAE codes.

    ``raw`` and ``scaled`` are (train, test) pairs of the images as observed
    (what the statistics measure) and scaled (what the fitted ``cae`` codes);
    the CAE's fit time counts in the joint row.
    """
    morphology = MorphologyTransformer()
    train_statistics, measure_s = timed(morphology.fit_transform, raw[0])
    statistics = (train_statistics, morphology.transform(raw[1]))
    codes = tuple(cae.transform(images) for images in scaled)
    features = {
        "morphology statistics": (statistics, measure_s),
        "CAE codes + morphology statistics": (
            tuple(np.c_[m, c] for m, c in zip(statistics, codes)),
            measure_s + cae_s,
        ),
    }
    results = {}
    for where, ((F_train, F_test), extra_s) in features.items():
        density = make_pipeline(
            StandardScaler(), GaussianMixtureDetector(random_state=seed)
        )
        _, fit_s = timed(density.fit, F_train)
        results[f"GaussianMixtureDetector, {where}"] = (
            -density.score_samples(F_test),
            fit_s + extra_s,
        )
    return results


def metrics(is_anomaly, score):
    return (
        roc_auc_score(is_anomaly, score),
        average_precision_score(is_anomaly, score),
        recall_at_k(is_anomaly, score, 0.01),
    )


def summarise(per_seed):
    """Median (min-max) over seeds of each method's metrics, as table rows.

    The last value of every result is the fit time in seconds.
    """
    rows = []
    for name in per_seed[0]:
        values = np.array([seed_result[name] for seed_result in per_seed])
        cells = [median_range(col) for col in values[:, :-1].T]
        rows.append([name, *cells, median_range(values[:, -1], ".0f")])
    return rows


def real_split(images, y, seed):
    normal = np.flatnonzero(y != "merger")
    mergers = np.flatnonzero(y == "merger")
    train, test = train_test_split(
        normal, test_size=0.25, stratify=y[normal], random_state=seed
    )
    test = np.concatenate([test, mergers])
    return images[train], images[test], np.isin(test, mergers).astype(int)


def run_real(seeds, epochs, vae_epochs, smoke):
    images, y = load_gz1_morphology()
    if smoke:
        keep = np.r_[np.flatnonzero(y != "merger")[:400], np.flatnonzero(y == "merger")]
        images, y = images[keep], y[keep]
    per_seed = []
    for seed in seeds:
        X_train, X_test, is_anomaly = real_split(images, y, seed)
        results = detector_scores(X_train, X_test, seed, epochs, vae_epochs)
        per_seed.append(
            {name: (*metrics(is_anomaly, s), t) for name, (s, t) in results.items()}
        )
        print(
            f"real seed {seed}:", {k: round(v[0], 3) for k, v in per_seed[-1].items()}
        )
    sizes = (
        f"train {len(X_train)} normal, test {len(X_test)} ({is_anomaly.sum()} mergers)"
    )
    return summarise(per_seed), sizes


def run_synthetic(seeds, epochs, vae_epochs, smoke):
    n_train, n_normal, n_each = (200, 100, 10) if smoke else (3000, 1000, 60)
    anomaly_types = ("satellite_trail", "saturated_star", "lens")
    per_seed = []
    for seed in seeds:
        X_train = make_galaxies(n_train, random_state=1000 + seed).images
        X_normal = make_galaxies(n_normal, random_state=2000 + seed).images
        X_anomalies = [
            make_galaxies(
                n_each,
                anomalies=[kind],
                anomaly_fraction=1.0,
                random_state=3000 + seed,
            ).images
            for kind in anomaly_types
        ]
        X_test = np.concatenate([X_normal, *X_anomalies])
        kind = np.repeat(["normal", *anomaly_types], [n_normal] + [n_each] * 3)
        results = detector_scores(X_train, X_test, seed, epochs, vae_epochs)
        result = {}
        for name, (s, fit_s) in results.items():
            aucs = []
            for anomaly in anomaly_types:
                rows = (kind == "normal") | (kind == anomaly)
                aucs.append(roc_auc_score(kind[rows] == anomaly, s[rows]))
            result[name] = (*aucs, *metrics(kind != "normal", s), fit_s)
        per_seed.append(result)
        print(f"synthetic seed {seed}:", {k: round(v[3], 3) for k, v in result.items()})
    sizes = (
        f"train {n_train} normal, test {n_normal} normal + {n_each} of each "
        "anomaly type"
    )
    return summarise(per_seed), sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20, help="CAE and PyOD epochs")
    parser.add_argument("--vae-epochs", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.epochs, args.vae_epochs = 1, 1, 1
    seeds = list(range(args.seeds))

    real_rows, real_sizes = run_real(seeds, args.epochs, args.vae_epochs, args.smoke)
    synthetic_rows, synthetic_sizes = run_synthetic(
        seeds, args.epochs, args.vae_epochs, args.smoke
    )
    body = (
        f"Seeds {seeds}; CAE and PyOD's deep detectors {args.epochs} epochs, "
        f"FlowVAE {args.vae_epochs} epochs; every method on ArcsinhScaler output "
        "(or the FlowVAE embeddings of it); median (min-max) over seeds; fit "
        "time in seconds on this machine.\n\n"
        f"**Real mergers** ({real_sizes}; target: default CAE ROC AUC >= 0.85 "
        "and above every baseline):\n\n"
        + markdown_table(
            ["method", "ROC AUC", "average precision", "recall in top 1 %", "fit s"],
            real_rows,
        )
        + f"\n\n**make_galaxies anomalies** ({synthetic_sizes}):\n\n"
        + markdown_table(
            [
                "method",
                "ROC AUC trails",
                "ROC AUC saturated stars",
                "ROC AUC lenses",
                "ROC AUC all",
                "average precision all",
                "recall in top 1 % all",
                "fit s",
            ],
            synthetic_rows,
        )
    )
    publish(
        "cae_anomaly",
        "CAEAnomalyDetector: mergers and synthetic anomalies",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
