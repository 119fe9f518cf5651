"""How hard is make_galaxies? Logistic regression on pixels vs GalaxyCNNClassifier.

Ten Galaxy10 DECaLS classes rendered by make_galaxies; a train and a test set
drawn with different seeds. Reports accuracy, macro-F1, per-class recall, the
confusion matrix and the most confused pairs.

    python benchmarks/synthetic_galaxies.py [--n-train 3000] [--n-test 1000] [--smoke]
"""

import argparse
import time

import numpy as np
from _report import markdown_table, median_range, publish
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies


def evaluate(name, model, X_tr, y_tr, X_te, y_te):
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    fit_s = time.perf_counter() - start
    pred = model.predict(X_te)
    result = {
        "model": name,
        "accuracy": accuracy_score(y_te, pred),
        "macro_f1": f1_score(y_te, pred, average="macro"),
        "confusion": confusion_matrix(y_te, pred, labels=np.arange(10)),
        "fit_s": fit_s,
    }
    print(
        f"{name}: accuracy {result['accuracy']:.3f}, macro-F1 "
        f"{result['macro_f1']:.3f}, fit {fit_s:.0f} s"
    )
    return result


def confused_pairs(confusion, names, top=4):
    off = confusion.astype(float) / confusion.sum(axis=1, keepdims=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    return [
        f"{names[i]} -> {names[j]} ({off[i, j]:.0%})"
        for i, j in zip(*np.unravel_index(order, off.shape))
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    if args.smoke:
        args.n_train, args.n_test, args.seeds = 200, 100, 1
    per_seed = {"logistic": [], "cnn": []}
    for seed in range(args.seeds):
        train = make_galaxies(args.n_train, random_state=seed)
        test = make_galaxies(args.n_test, random_state=100 + seed)
        names = [str(n) for n in train.target_names]
        logistic = LogisticRegression(C=0.01, max_iter=1000)
        per_seed["logistic"].append(
            evaluate(
                "LogisticRegression on pixels",
                make_pipeline(ArcsinhScaler(), logistic),
                train.images.reshape(len(train.images), -1),
                train.target,
                test.images.reshape(len(test.images), -1),
                test.target,
            )
        )
        per_seed["logistic"][-1]["converged"] = (
            logistic.n_iter_.max() < logistic.max_iter
        )
        per_seed["cnn"].append(
            evaluate(
                "GalaxyCNNClassifier()",
                make_pipeline(
                    ArcsinhScaler(),
                    GalaxyCNNClassifier(
                        random_state=seed,
                        device="cpu",
                        max_epochs=1
                        if args.smoke
                        else GalaxyCNNClassifier().max_epochs,
                    ),
                ),
                train.images,
                train.target,
                test.images,
                test.target,
            )
        )
    summary = markdown_table(
        [
            "model",
            "accuracy, median (min-max)",
            "macro-F1",
            "fit s",
            "most confused (true -> predicted), seed 0",
        ],
        [
            [
                runs[0]["model"]
                + (
                    ""
                    if "converged" not in runs[0]
                    else f" (converged in {sum(r['converged'] for r in runs)} of "
                    f"{len(runs)} fits)"
                ),
                median_range([r["accuracy"] for r in runs]),
                median_range([r["macro_f1"] for r in runs]),
                median_range([r["fit_s"] for r in runs], ".0f"),
                "; ".join(confused_pairs(runs[0]["confusion"], names)),
            ]
            for runs in per_seed.values()
        ],
    )
    cnn = sum(r["confusion"] for r in per_seed["cnn"])
    recall = cnn.diagonal() / cnn.sum(axis=1)
    matrix = markdown_table(
        ["true \\ predicted", *[str(i) for i in range(10)], "recall"],
        [
            [f"{i} {n}", *cnn[i].tolist(), f"{recall[i]:.2f}"]
            for i, n in enumerate(names)
        ],
    )
    body = (
        f"{args.seeds} seeds: train {args.n_train} images (seed s), test "
        f"{args.n_test} (seed 100 + s); chance accuracy 0.10.\n\n{summary}\n\n"
        "GalaxyCNNClassifier confusion matrix, test sets of all seeds summed:"
        f"\n\n{matrix}\n"
    )
    publish(
        "synthetic_galaxies",
        "make_galaxies: is it neither trivial nor noise?",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
