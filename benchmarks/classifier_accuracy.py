"""Accuracy of GalaxyCNNClassifier on real SDSS galaxies vs the reference recipe.

4 classes (elliptical, spiral = clockwise + anticlockwise, edge_on, merger),
stratified 80/20 splits, ArcsinhScaler fitted on the training split. Side by
side per seed, on the same splits:

- the reference recipe, written here as an independent plain-PyTorch model
  and loop (3x3 kernels, 32 -> 64 -> 128 filters in Conv -> BatchNorm ->
  ReLU -> MaxPool blocks, global average pooling, Gaussian input noise,
  dropout around a 128-unit dense layer, L2 through Adam's weight decay,
  label smoothing, batch 64), at its own 15 epochs and at the estimator's
  epoch budget;
- GalaxyCNNClassifier with its defaults.

    python benchmarks/classifier_accuracy.py [--seeds 0 1 2] [--smoke]

``--set NAME=VALUE ...`` changes estimator parameters and runs the estimator
alone (no reference rows), printed and not recorded: a way to try a candidate
default on the same splits (its figures go in the commit that decides).
"""

import argparse
import time

import numpy as np
import torch
from _report import (
    add_set_option,
    described,
    load_gz1_morphology,
    markdown_table,
    median_range,
    parameters,
    publish,
)
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split
from torch import nn

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier

REFERENCE = dict(lr=1e-3, weight_decay=1e-4, label_smoothing=0.1, batch_size=64)


class ReferenceCNN(nn.Module):
    """The reference recipe's network, independent of skgalaxy's modules."""

    INPUT_NOISE = 0.1
    DROPOUT = 0.5

    def __init__(self, n_classes, input_noise=INPUT_NOISE, dropout=DROPOUT):
        super().__init__()
        self.input_noise = input_noise
        layers, channels = [], 3
        for filters in (32, 64, 128):
            layers += [
                nn.Conv2d(channels, filters, 3, padding=1),
                nn.BatchNorm2d(filters),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels = filters
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(128, n_classes),
        )

    def forward(self, x):
        if self.training and self.input_noise:
            x = x + self.input_noise * torch.randn_like(x)
        return self.head(self.features(x))


def reference_recipe(X_train, y_train, X_test, seed, epochs):
    """Train the reference model with a plain loop; predictions and fit seconds."""
    torch.manual_seed(seed)
    classes, y_idx = np.unique(y_train, return_inverse=True)
    x = torch.as_tensor(X_train, dtype=torch.float32).permute(0, 3, 1, 2)
    t = torch.as_tensor(y_idx)
    model = ReferenceCNN(len(classes))
    optimizer = torch.optim.Adam(
        model.parameters(), lr=REFERENCE["lr"], weight_decay=REFERENCE["weight_decay"]
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=REFERENCE["label_smoothing"])
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x)).split(REFERENCE["batch_size"]):
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


POOLINGS = {
    "mean": "mean over the image",
    "centre": "means over the image and over its central half",
}


def differences(estimator_epochs):
    """Every way the estimator's defaults differ from the reference recipe."""
    clf = GalaxyCNNClassifier()
    return markdown_table(
        ["", "reference recipe", "GalaxyCNNClassifier()"],
        [
            ["epochs", "15 (and a row at the estimator's budget)", estimator_epochs],
            [
                "optimizer, learning rate",
                "Adam 1e-3, constant",
                f"AdamW {clf.lr}, {clf.lr_schedule} schedule",
            ],
            [
                "L2 / weight decay",
                "1e-4 (Adam, coupled)",
                f"{clf.weight_decay} (decoupled)",
            ],
            ["pooling of the last maps", "mean over the image", POOLINGS[clf.pooling]],
            ["dropout", ReferenceCNN.DROPOUT, clf.dropout],
            ["input noise (std)", ReferenceCNN.INPUT_NOISE, clf.input_noise],
            ["label smoothing", REFERENCE["label_smoothing"], clf.label_smoothing],
            ["batch size", REFERENCE["batch_size"], clf.batch_size],
            [
                "augmentation",
                "none",
                f"random quarter turns, mirrors, shifts of up to {clf.max_shift} px",
            ],
            ["test-time augmentation", "none", "mean over the 8 dihedral transforms"],
            ["class weights", "none", clf.class_weight],
            [
                "logit adjustment (tau x log class frequencies)",
                "none",
                clf.logit_adjustment or "none",
            ],
            ["last partial batch", "kept", "dropped"],
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--smoke", action="store_true", help="one seed, 1 epoch, 600 images, no record"
    )
    add_set_option(parser, "GalaxyCNNClassifier (no reference rows)")
    args = parser.parse_args()
    params = parameters(args)
    images, y = load_gz1_morphology()
    seeds = args.seeds[:1] if args.smoke else args.seeds
    budget = GalaxyCNNClassifier().max_epochs
    epochs = {
        "reference": 1 if args.smoke else 15,
        "budget": 1 if args.smoke else budget,
    }
    if args.smoke:
        keep = np.random.default_rng(0).permutation(len(y))[:600]
        images, y = images[keep], y[keep]
    names = {
        "reference": f"reference recipe, {epochs['reference']} epochs",
        "budget": f"reference recipe, {epochs['budget']} epochs (the estimator's)",
        "estimator": "GalaxyCNNClassifier() defaults",
    }
    if params:
        names = {"estimator": f"GalaxyCNNClassifier({described(params)})"}
    rows = {name: [] for name in names}
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            images, y, test_size=0.2, stratify=y, random_state=seed
        )
        scaler = ArcsinhScaler().fit(X_tr)
        S_tr, S_te = scaler.transform(X_tr), scaler.transform(X_te)
        for key in ("reference", "budget") if not params else ():
            pred, fit_time = reference_recipe(S_tr, y_tr, S_te, seed, epochs[key])
            rows[key].append(scores(y_te, pred, fit_time))
        clf = GalaxyCNNClassifier(random_state=seed, device="cpu", **params)
        if args.smoke:
            clf.set_params(max_epochs=1)
        start = time.perf_counter()
        clf.fit(S_tr, y_tr)
        fit_time = time.perf_counter() - start
        rows["estimator"].append(scores(y_te, clf.predict(S_te), fit_time))
        for key, runs in rows.items():
            print(
                f"seed {seed} {names[key]}: "
                + ", ".join(f"{k}={v:.3f}" for k, v in runs[-1].items()),
                flush=True,
            )
    keys = ["accuracy", "macro_f1", "merger_recall", "fit_s"]
    table = markdown_table(
        ["model", *[f"{k}, median (min-max)" for k in keys]],
        [
            [
                names[key],
                *[
                    median_range([r[k] for r in runs], ".0f" if k == "fit_s" else ".3f")
                    for k in keys
                ],
            ]
            for key, runs in rows.items()
        ],
    )
    body = (
        f"Stratified 80/20 splits of {len(y)} images, seeds {seeds}; test-split "
        "scores; fit time in seconds on this machine, the estimator and the "
        "reference on the same ArcsinhScaler output.\n\n"
        f"{table}\n"
    )
    if not params:
        body += f"\nWhat differs between the rows:\n\n{differences(budget)}\n"
    publish(
        "classifier_accuracy",
        "GalaxyCNNClassifier on real SDSS galaxies (gz1_sdss_64, 4 classes)",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
