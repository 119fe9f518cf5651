"""How hard is make_galaxies? Logistic regression on pixels vs GalaxyCNNClassifier.

Ten Galaxy10 DECaLS classes rendered by make_galaxies; a train and a test set
drawn with different seeds. Reports accuracy, macro-F1, per-class recall, the
confusion matrix and the most confused pairs.

    python benchmarks/synthetic_galaxies.py [--n-train 3000] [--n-test 1000]
"""

import argparse
import time

import numpy as np
from _report import markdown_table, record
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
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.n_test = 300, 100
    train = make_galaxies(args.n_train, random_state=0)
    test = make_galaxies(args.n_test, random_state=1)
    names = [str(n) for n in train.target_names]
    results = [
        evaluate(
            "LogisticRegression on pixels",
            make_pipeline(ArcsinhScaler(), LogisticRegression(C=0.01, max_iter=300)),
            train.images.reshape(len(train.images), -1),
            train.target,
            test.images.reshape(len(test.images), -1),
            test.target,
        ),
        evaluate(
            "GalaxyCNNClassifier()",
            make_pipeline(
                ArcsinhScaler(),
                GalaxyCNNClassifier(random_state=0, max_epochs=2 if args.quick else 30),
            ),
            train.images,
            train.target,
            test.images,
            test.target,
        ),
    ]
    summary = markdown_table(
        ["model", "accuracy", "macro-F1", "fit s", "most confused (true -> predicted)"],
        [
            [
                r["model"],
                f"{r['accuracy']:.3f}",
                f"{r['macro_f1']:.3f}",
                f"{r['fit_s']:.0f}",
                "; ".join(confused_pairs(r["confusion"], names)),
            ]
            for r in results
        ],
    )
    cnn = results[-1]["confusion"]
    recall = cnn.diagonal() / cnn.sum(axis=1)
    matrix = markdown_table(
        ["true \\ predicted", *[str(i) for i in range(10)], "recall"],
        [
            [f"{i} {n}", *cnn[i].tolist(), f"{recall[i]:.2f}"]
            for i, n in enumerate(names)
        ],
    )
    print(summary)
    print(matrix)
    if not args.quick:
        record(
            "synthetic_galaxies",
            "make_galaxies: is it neither trivial nor noise?",
            f"Train {args.n_train} images (seed 0), test {args.n_test} (seed 1); "
            f"chance accuracy 0.10.\n\n{summary}\n\nGalaxyCNNClassifier confusion "
            f"matrix on the test set:\n\n{matrix}\n",
        )


if __name__ == "__main__":
    main()
