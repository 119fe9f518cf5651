"""Self-supervised features, transfer and the D4 backbone on real galaxies.

Real SDSS galaxies (gz1_sdss_64, 4 classes), ArcsinhScaler fitted on each
training split, 3 seeds, median (min-max). Five parts, each its own section of
RESULTS.md (``--part``), each short enough to run alone in one sitting:

``probe``
    Stratified 80/20 split per seed. A ContrastiveTransformer (defaults) is
    fitted on the training images without their labels; a balanced
    LogisticRegression on its embeddings, on them side by side with
    MorphologyTransformer's statistics of the images as observed, and on PCA
    of the pixels (as many components as the embedding has dimensions, and
    16). Then
    GalaxyCNNClassifier defaults on a stratified 10 % of the training labels:
    from scratch, and fine-tuned from the encoder.
``transfer``
    The same with the encoder pretrained on as many make_galaxies images
    (does synthetic pretraining transfer to real galaxies?).
``backbone``
    GalaxyCNNClassifier defaults on the same splits and all training labels,
    from scratch, with the plain CNN and with the D4-equivariant backbone.
``detect``
    Mergers found without labels, with the split of ``cae_anomaly.py``: fitted
    on 75 % of the normal galaxies, scoring the other 25 % and every merger.
    IsolationForest, kNN distance and Gaussian-mixture density on the
    ContrastiveTransformer's embeddings (fitted on the same normal galaxies)
    and IsolationForest on the pixels, the baseline.
``morphology``
    No training: MorphologyTransformer's statistics (asymmetry, concentration,
    Gini, M20, colours, ...) of the images as observed, in a linear probe on
    the splits of ``probe`` and in the label-free detectors of ``detect`` on
    its splits. A minute or two.

In ``probe``, ``transfer`` and ``backbone`` the classifiers have the same
epochs and split; each row gives accuracy, macro-F1, merger recall, fit time,
training and prediction images/s. ``--set`` changes the ContrastiveTransformer's
parameters; such a run is printed, not recorded.

    python benchmarks/representations.py [--part probe transfer backbone detect
                                          morphology]
                                         [--seeds 3] [--epochs 30] [--ssl-epochs 30]
                                         [--set NAME=VALUE ...]
    python benchmarks/representations.py --smoke       # every part, tiny
"""

import argparse
import time

import numpy as np
from _report import (
    add_set_option,
    described,
    load_gz1_morphology,
    markdown_table,
    median_range,
    parameters,
    run_parts,
)
from cae_anomaly import real_split
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    recall_score,
    roc_auc_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgalaxy import (
    ArcsinhScaler,
    ContrastiveTransformer,
    GalaxyCNNClassifier,
    MorphologyTransformer,
)
from skgalaxy.anomaly import KNeighborsDetector
from skgalaxy.datasets import make_galaxies

LABEL_FRACTION = 0.1


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def split_indices(y, seed):
    """Training and test indices of the stratified 80/20 split of ``seed``."""
    return train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed
    )


def scaled_split(images, y, seed):
    """Stratified 80/20 split, scaled by an ArcsinhScaler fitted on the 80 %."""
    train, test = split_indices(y, seed)
    scaler = ArcsinhScaler().fit(images[train])
    X_tr, X_te = scaler.transform(images[train]), scaler.transform(images[test])
    return X_tr, X_te, y[train], y[test]


def label_subset(y, seed):
    """Indices of a stratified ``LABEL_FRACTION`` of ``y``."""
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=LABEL_FRACTION, stratify=y, random_state=seed
    )
    return keep


def probe_f1(F_tr, y_tr, F_te, y_te):
    """Held-out macro-F1 of a balanced linear probe on features."""
    probe = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced")
    )
    return f1_score(y_te, probe.fit(F_tr, y_tr).predict(F_te), average="macro")


def classifier_scores(clf, X_tr, y_tr, X_te, y_te):
    """Fit ``clf`` and return its test scores, fit time and speeds."""
    _, fit_s = timed(clf.fit, X_tr, y_tr)
    pred, predict_s = timed(clf.predict, X_te)
    return {
        "accuracy": accuracy_score(y_te, pred),
        "macro_f1": f1_score(y_te, pred, average="macro"),
        "merger_recall": recall_score(y_te == "merger", pred == "merger"),
        "fit_s": fit_s,
        "train_rate": len(X_tr) * clf.max_epochs / fit_s,
        "predict_rate": len(X_te) / predict_s,
    }


def pretrain(X, seed, args):
    return ContrastiveTransformer(
        max_epochs=args.ssl_epochs, random_state=seed, device="cpu", **parameters(args)
    ).fit(X)


def encoder_setup(args):
    """How the ContrastiveTransformer is set, as the sections say it."""
    params = parameters(args)
    name = "ContrastiveTransformer defaults"
    if params:
        name = f"ContrastiveTransformer({described(params)})"
    return f"{name} with {args.ssl_epochs} epochs"


def classifier(seed, args, **params):
    return GalaxyCNNClassifier(
        max_epochs=args.epochs, random_state=seed, device="cpu", **params
    )


def pretrained_seed(images, y, seed, args, source):
    """Linear probes and 10 % fine-tuning with an encoder pretrained on ``source``."""
    X_tr, X_te, y_tr, y_te = scaled_split(images, y, seed)
    X_pre = X_tr
    if source == "make_galaxies":
        X_pre = ArcsinhScaler().fit_transform(
            make_galaxies(len(X_tr), random_state=seed).images
        )
    encoder, ssl_s = timed(pretrain, X_pre, seed, args)
    E_tr, E_te = encoder.transform(X_tr), encoder.transform(X_te)
    name = f"ContrastiveTransformer on {SOURCES[source]} ({E_tr.shape[1]} dims)"
    probes = {name: probe_f1(E_tr, y_tr, E_te, y_te)}
    # The statistics of the images as observed, split as the images are.
    statistics = MorphologyTransformer().fit_transform(images)
    S_tr, S_te = (statistics[i] for i in split_indices(y, seed))
    probes[
        f"the same, side by side with the {S_tr.shape[1]} MorphologyTransformer "
        "statistics"
    ] = probe_f1(np.hstack([E_tr, S_tr]), y_tr, np.hstack([E_te, S_te]), y_te)
    flat_tr, flat_te = X_tr.reshape(len(X_tr), -1), X_te.reshape(len(X_te), -1)
    for k in sorted({E_tr.shape[1], 16}):
        pca = PCA(n_components=k, random_state=seed).fit(flat_tr)
        probes[f"PCA of the pixels ({k} components)"] = probe_f1(
            pca.transform(flat_tr), y_tr, pca.transform(flat_te), y_te
        )
    few = label_subset(y_tr, seed)
    setups = {
        "from scratch, 10 % labels": {},
        f"fine-tuned from the encoder pretrained on {SOURCES[source]}, 10 % labels": {
            "encoder": FrozenEstimator(encoder)
        },
    }
    classifiers = {
        name: classifier_scores(
            classifier(seed, args, **params), X_tr[few], y_tr[few], X_te, y_te
        )
        for name, params in setups.items()
    }
    result = {"probes": probes, "classifiers": classifiers, "ssl_s": ssl_s}
    return result, (len(X_tr), len(X_te), len(few))


def probe_seed(images, y, seed, args):
    return pretrained_seed(images, y, seed, args, "real")


def transfer_seed(images, y, seed, args):
    return pretrained_seed(images, y, seed, args, "make_galaxies")


def backbone_seed(images, y, seed, args):
    """Both backbones from scratch on all training labels."""
    X_tr, X_te, y_tr, y_te = scaled_split(images, y, seed)
    classifiers = {
        f'from scratch, all labels (backbone="{backbone}")': classifier_scores(
            classifier(seed, args, backbone=backbone), X_tr, y_tr, X_te, y_te
        )
        for backbone in ("cnn", "d4")
    }
    return {"classifiers": classifiers}, (len(X_tr), len(X_te))


SOURCES = {
    "real": "the real training images",
    "make_galaxies": "as many make_galaxies images",
}


def density_detectors(F_tr, F_te, seed):
    """``{name: anomaly scores of F_te}`` of the label-free detectors."""
    scaler = StandardScaler().fit(F_tr)
    F_tr, F_te = scaler.transform(F_tr), scaler.transform(F_te)
    # A full covariance per component in 128 dimensions is ill-posed on a few
    # thousand galaxies: the mixture models the 16 leading principal components.
    gmm = make_pipeline(
        PCA(n_components=min(16, F_tr.shape[1]), random_state=seed),
        GaussianMixture(n_components=8, reg_covar=1e-4, random_state=seed),
    )
    return {
        "IsolationForest": -IsolationForest(random_state=seed)
        .fit(F_tr)
        .score_samples(F_te),
        "kNN mean distance (k=10)": KNeighborsDetector(n_neighbors=10)
        .fit(F_tr)
        .anomaly_score(F_te),
        "Gaussian mixture (8 components, 16 PCs)": -gmm.fit(
            F_tr.astype(np.float64)
        ).score_samples(F_te.astype(np.float64)),
    }


def detect_seed(images, y, seed, args):
    X_train, X_test, is_merger = real_split(images, y, seed)
    scaler = ArcsinhScaler().fit(X_train)
    S_train, S_test = scaler.transform(X_train), scaler.transform(X_test)
    encoder, ssl_s = timed(pretrain, S_train, seed, args)
    scores = {
        f"{name}, contrastive embeddings": s
        for name, s in density_detectors(
            encoder.transform(S_train), encoder.transform(S_test), seed
        ).items()
    }
    forest = IsolationForest(random_state=seed).fit(S_train.reshape(len(S_train), -1))
    scores["IsolationForest, pixels (baseline)"] = -forest.score_samples(
        S_test.reshape(len(S_test), -1)
    )
    result = detection_scores(scores, is_merger)
    result["ssl_s"] = ssl_s
    return result, (len(S_train), len(S_test), int(is_merger.sum()))


def detection_scores(scores, is_merger):
    return {
        name: {
            "roc_auc": roc_auc_score(is_merger, s),
            "ap": average_precision_score(is_merger, s),
        }
        for name, s in scores.items()
    }


def morphology_seed(images, y, seed, args):
    """Linear probe on the probe split, label-free detection on detect's.

    The statistics need no training: every image is measured once, then split
    as the images are (the splits depend only on the labels and the seed).
    """
    statistics, measure_s = timed(MorphologyTransformer().fit_transform, images)
    train, test = split_indices(y, seed)
    M_tr, M_te, y_tr, y_te = statistics[train], statistics[test], y[train], y[test]
    probes = {
        f"MorphologyTransformer ({M_tr.shape[1]} statistics)": probe_f1(
            M_tr, y_tr, M_te, y_te
        )
    }
    M_train, M_test, is_merger = real_split(statistics, y, seed)
    scores = {
        f"{name}, morphology statistics": s
        for name, s in density_detectors(M_train, M_test, seed).items()
    }
    result = {
        "probes": probes,
        "detect": detection_scores(scores, is_merger),
        "rate": len(images) / measure_s,
    }
    sizes = (len(M_tr), len(M_te), len(M_train), len(M_test), int(is_merger.sum()))
    return result, sizes


CLASSIFIER_COLUMNS = {
    "accuracy": ("accuracy", ".3f"),
    "macro_f1": ("macro-F1", ".3f"),
    "merger_recall": ("merger recall", ".3f"),
    "fit_s": ("fit s", ".0f"),
}


def rows_of(runs, names, columns):
    return [
        [
            name,
            *[median_range([r[name][key] for r in runs], f) for key, (_, f) in columns],
        ]
        for name in names
    ]


def ssl_time(runs):
    return median_range([r["ssl_s"] for r in runs], ".0f")


def classifier_table(runs):
    columns = {
        **CLASSIFIER_COLUMNS,
        "train_rate": ("training images/s", ".0f"),
        "predict_rate": ("prediction images/s", ".0f"),
    }
    classifiers = [r["classifiers"] for r in runs]
    return markdown_table(
        ["classifier", *[c for c, _ in columns.values()]],
        rows_of(classifiers, list(classifiers[0]), columns.items()),
    )


CLASSIFIER_SETUP = (
    "classifiers: GalaxyCNNClassifier defaults with {epochs} epochs, differing "
    'only where the row says (backbone="cnn" predicts with 8-fold test-time '
    'augmentation, "d4" needs none; training images/s counts every epoch\'s '
    "images)."
)


def pretrained_body(runs, sizes, args):
    probes = [r["probes"] for r in runs]
    return (
        f"{sizes[0]} training / {sizes[1]} test images per seed; the 10 % subset "
        f"has {sizes[2]} labelled images. {encoder_setup(args)} "
        f"(fit {ssl_time(runs)} s); "
        + CLASSIFIER_SETUP.format(epochs=args.epochs)
        + "\n\n**Linear probe** (balanced LogisticRegression, held-out macro-F1; "
        "target: self-supervised >= 0.60)\n\n"
        + markdown_table(
            ["features", "macro-F1"],
            [[name, median_range([p[name] for p in probes])] for name in probes[0]],
        )
        + "\n\n**Classifiers on 10 % of the labels** (target: fine-tuned >= the "
        "GalaxyCNNClassifier defaults from scratch on all labels, macro-F1: "
        "classifier_accuracy.py at the same commit's defaults, same splits, "
        "seeds and epochs)\n\n" + classifier_table(runs)
    )


def backbone_body(runs, sizes, args):
    return (
        f"{sizes[0]} training / {sizes[1]} test images per seed (the splits of "
        "the probe and transfer parts); "
        + CLASSIFIER_SETUP.format(epochs=args.epochs)
        + "\n\n**Classifiers on all labels** (targets for the defaults: >= 0.86 "
        "accuracy, >= 0.68 macro-F1, >= 0.30 merger recall, <= 900 s)\n\n"
        + classifier_table(runs)
    )


DETECT_COLUMNS = {"roc_auc": ("ROC AUC", ".3f"), "ap": ("average precision", ".3f")}


def detect_table(runs, names):
    return markdown_table(
        ["detector", *[c for c, _ in DETECT_COLUMNS.values()]],
        rows_of(runs, names, DETECT_COLUMNS.items()),
    )


def detect_body(runs, sizes, args):
    names = [k for k in runs[0] if k != "ssl_s"]
    return (
        f"Fitted on {sizes[0]} normal galaxies, scoring {sizes[1]} ({sizes[2]} "
        f"mergers); {encoder_setup(args)} (fit {ssl_time(runs)} s), embeddings "
        "standardised. Target: ROC AUC >= 0.90 (the CAE's and IsolationForest's "
        "figures on this split are in the cae_anomaly section).\n\n"
        + detect_table(runs, names)
    )


def morphology_body(runs, sizes, args):
    probes = [r["probes"] for r in runs]
    detect = [r["detect"] for r in runs]
    return (
        "No training: MorphologyTransformer defaults on the images as observed "
        f"(measured at {median_range([r['rate'] for r in runs], '.0f')} images/s)."
        f"\n\n**Linear probe** on the splits of the probe part ({sizes[0]} "
        f"training / {sizes[1]} test images; balanced LogisticRegression on the "
        "standardised statistics, held-out macro-F1; the probe part's PCA rows "
        "are on the same splits)\n\n"
        + markdown_table(
            ["features", "macro-F1"],
            [[name, median_range([p[name] for p in probes])] for name in probes[0]],
        )
        + "\n\n**Mergers found without labels** on the splits of the detect "
        f"part: fitted on {sizes[2]} normal galaxies, scoring {sizes[3]} "
        f"({sizes[4]} mergers); target ROC AUC >= 0.90 (the pixel baseline and "
        "the contrastive rows of the same splits are in the detect part)\n\n"
        + detect_table(detect, list(detect[0]))
    )


RUNNERS = {
    "probe": (probe_seed, pretrained_body, "Self-supervised features"),
    "transfer": (
        transfer_seed,
        pretrained_body,
        "Self-supervised features pretrained on make_galaxies",
    ),
    "backbone": (backbone_seed, backbone_body, "The D4 backbone against the CNN"),
    "detect": (detect_seed, detect_body, "Mergers found without labels"),
    "morphology": (
        morphology_seed,
        morphology_body,
        "Morphology statistics: linear probe and mergers found without labels",
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=RUNNERS, nargs="+", default=list(RUNNERS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30, help="classifier epochs")
    parser.add_argument("--ssl-epochs", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    add_set_option(parser, "ContrastiveTransformer")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    if args.smoke:
        keep = np.random.default_rng(0).permutation(len(y))[:300]
        keep = np.union1d(keep, np.flatnonzero(y == "merger")[:30])
        images, y = images[keep], y[keep]
        args.part, args.seeds, args.epochs, args.ssl_epochs = list(RUNNERS), 1, 1, 1
    run_parts("representations", RUNNERS, images, y, args)


if __name__ == "__main__":
    main()
