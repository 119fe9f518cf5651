"""Accuracy of GalaxyCNNClassifier on real SDSS galaxies vs the reference recipe.

4 classes (elliptical, spiral = clockwise + anticlockwise, edge_on, merger),
stratified 80/20 splits, ArcsinhScaler first. Side by side per seed: the
reference recipe as a plain PyTorch loop (15 epochs, Adam, L2, label smoothing,
input noise, dropout, batch 64) and GalaxyCNNClassifier with its defaults.

    python benchmarks/classifier_accuracy.py [--seeds 0 1 2] [--quick]
"""

import argparse
import time

import numpy as np
import torch
from _report import load_gz1_morphology, markdown_table, record
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.nn.classifier import GalaxyCNN


def reference_recipe(X_train, y_train, X_test, seed, epochs):
    """The Keras recipe of the reference work, as a plain PyTorch loop."""
    torch.manual_seed(seed)
    classes, y_idx = np.unique(y_train, return_inverse=True)
    x = torch.as_tensor(X_train, dtype=torch.float32).permute(0, 3, 1, 2)
    t = torch.as_tensor(y_idx)
    model = GalaxyCNN(3, len(classes), dropout=0.5, augment=False, input_noise=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            loss_fn(model(x[idx]), t[idx]).backward()
            optimizer.step()
    fit_time = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        xt = torch.as_tensor(X_test, dtype=torch.float32).permute(0, 3, 1, 2)
        pred = torch.cat([model(b).argmax(1) for b in xt.split(256)]).numpy()
    return classes[pred], fit_time


def scores(y_true, y_pred, fit_time):
    merger = recall_score(y_true, y_pred, labels=["merger"], average=None)[0]
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "merger_recall": merger,
        "fit_s": fit_time,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    rows = {"reference recipe (plain PyTorch)": [], "GalaxyCNNClassifier()": []}
    for seed in args.seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            images, y, test_size=0.2, stratify=y, random_state=seed
        )
        scaler = ArcsinhScaler().fit(X_tr)
        pred, fit_time = reference_recipe(
            scaler.transform(X_tr),
            y_tr,
            scaler.transform(X_te),
            seed,
            epochs=2 if args.quick else 15,
        )
        rows["reference recipe (plain PyTorch)"].append(scores(y_te, pred, fit_time))
        clf = GalaxyCNNClassifier(random_state=seed, max_epochs=2 if args.quick else 30)
        model = make_pipeline(ArcsinhScaler(), clf)
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        fit_time = time.perf_counter() - start
        rows["GalaxyCNNClassifier()"].append(
            scores(y_te, model.predict(X_te), fit_time)
        )
        for name, runs in rows.items():
            print(
                f"seed {seed} {name}: "
                + ", ".join(f"{k}={v:.3f}" for k, v in runs[-1].items())
            )
    keys = ["accuracy", "macro_f1", "merger_recall", "fit_s"]
    table = markdown_table(
        [
            "model",
            *[f"{k} (median)" for k in keys],
            "accuracy per seed",
            "macro-F1 per seed",
        ],
        [
            [
                name,
                *[f"{np.median([r[k] for r in runs]):.3f}" for k in keys],
                " ".join(f"{r['accuracy']:.3f}" for r in runs),
                " ".join(f"{r['macro_f1']:.3f}" for r in runs),
            ]
            for name, runs in rows.items()
        ],
    )
    print(table)
    if not args.quick:
        record(
            "classifier_accuracy",
            "GalaxyCNNClassifier on real SDSS galaxies (gz1_sdss_64, 4 classes)",
            f"Stratified 80/20 splits, seeds {args.seeds}; test-split scores, "
            f"fit time in seconds.\n\n{table}\n",
        )


if __name__ == "__main__":
    main()
