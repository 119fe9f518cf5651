"""MorphologyTransformer against statmorph: agreement per statistic, speed, merger AUC.

statmorph (Rodriguez-Gomez et al. 2019) is the field's reference for the
non-parametric statistics. Both measure the same gz1_sdss_64 galaxies (every
merger and a random draw of the rest), from the same inputs: the channel mean
less the border's median, and a photutils segmentation map (sources of at
least 5 pixels above ``threshold`` sky deviations after a 3x3 boxcar, the
galaxy the source at the brightest pixel of the central quarter).

- agreement: Spearman rank correlation per statistic over the galaxies that
  statmorph measures with ``flag <= 1`` (its "good or suspect");
- speed: galaxies/s of each, one after the other on one core, the ratio in
  the same run (statmorph as a user calls it, its Sersic fit included), and
  ours on every core (``n_jobs=-1``, processes started within the timing);
- mergers: ROC AUC of 5-fold logistic regression on each one's statistics
  (3 shuffles of the folds, median (range)), and of the Freeman et al. 2013
  statistics alone.

    python benchmarks/morphology_statmorph.py [--n 500] [--smoke]
    python benchmarks/morphology_statmorph.py \
        --write-reference tests/data/statmorph_reference.npz
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

#: Our column and statmorph's attribute for each statistic both measure.
PAIRS = {
    "asymmetry": "asymmetry",
    "outer_asymmetry": "outer_asymmetry",
    "shape_asymmetry": "shape_asymmetry",
    "concentration": "concentration",
    "smoothness": "smoothness",
    "gini": "gini",
    "m20": "m20",
    "gini_m20_merger": "gini_m20_merger",
    "gini_m20_bulge": "gini_m20_bulge",
    "multimode": "multimode",
    "intensity": "intensity",
    "deviation": "deviation",
    "ellipticity": "ellipticity_asymmetry",
    "log_half_light_radius": "rhalf_circ",
}
THRESHOLD = 2.0


def galaxies(n, seed=0):
    """``n`` gz1_sdss_64 galaxies: every merger, the rest drawn at random."""
    from _report import load_gz1_morphology

    images, y = load_gz1_morphology()
    mergers = np.flatnonzero(y == "merger")
    rng = np.random.default_rng(seed)
    others = rng.choice(np.flatnonzero(y != "merger"), n - len(mergers), replace=False)
    index = np.sort(np.r_[mergers, others])
    return images[index], (y[index] == "merger").astype(int)


def statmorph_inputs(image):
    """The sky-subtracted channel mean, a photutils segmentation map and the
    galaxy's label, as a user would make them."""
    from photutils.segmentation import detect_sources
    from scipy import ndimage

    luminance = image.astype(np.float64).mean(axis=2)
    border = np.r_[luminance[:4].ravel(), luminance[-4:].ravel(),
                   luminance[:, :4].ravel(), luminance[:, -4:].ravel()]  # fmt: skip
    sky = np.median(border)
    noise = max(
        1.4826 * np.median(np.abs(border - sky)), 1e-3 * np.abs(luminance - sky).max()
    )
    flux = luminance - sky
    smooth = ndimage.uniform_filter(flux, size=3)
    segmap = detect_sources(smooth, THRESHOLD * noise, npixels=5, connectivity=8)
    height, width = flux.shape
    half = min(height, width) // 8
    top, left = (height - 1) // 2 - half, (width - 1) // 2 - half
    box = np.s_[top : height - top, left : width - left]
    row, col = np.unravel_index(np.argmax(smooth[box]), smooth[box].shape)
    label = 0 if segmap is None else segmap.data[box][row, col]
    return flux, segmap, label


def run_statmorph(images):
    """statmorph's value of each statistic (NaN where it flags > 1), and seconds."""
    import statmorph

    values = np.full((len(images), len(PAIRS)), np.nan)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, image in enumerate(images):
            flux, segmap, label = statmorph_inputs(image)
            if not label:
                continue
            measured = statmorph.SourceMorphology(flux, segmap, label, gain=1.0)
            if measured.flag > 1:
                continue
            row = [getattr(measured, name) for name in PAIRS.values()]
            values[i] = np.where(np.array(row) == -99.0, np.nan, row)
    seconds = time.perf_counter() - start
    values[:, list(PAIRS).index("log_half_light_radius")] = np.log10(
        values[:, list(PAIRS).index("log_half_light_radius")]
    )
    return values, seconds


def run_ours(images, repeats, n_jobs=None):
    from skgalaxy import MorphologyTransformer

    transformer = MorphologyTransformer(threshold=THRESHOLD, n_jobs=n_jobs)
    transformer.fit(images[:1])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        features = transformer.transform(images)
        times.append(time.perf_counter() - start)
    names = list(transformer.get_feature_names_out())
    return features, names, float(np.median(times))


def merger_auc(X, y, seeds=3):
    """ROC AUC of 5-fold logistic regression on ``X``, one per fold shuffle."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = []
    for seed in range(seeds):
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        p = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
        scores.append(roc_auc_score(y, p))
    return scores


def agreement_rows(ours, names, reference):
    from scipy.stats import spearmanr

    rows = []
    for j, name in enumerate(PAIRS):
        good = np.isfinite(reference[:, j])
        rho = spearmanr(ours[good, names.index(name)], reference[good, j]).statistic
        rows.append([f"`{name}`", f"{rho:.3f}", "met" if rho >= 0.9 else "missed",
                     int(good.sum())])  # fmt: skip
    return rows


def write_reference(path, n_each=10):
    """A few galaxies with statmorph's values, for the test suite."""
    images, y = galaxies(500)
    chosen = np.r_[np.flatnonzero(y == 1)[:n_each], np.flatnonzero(y == 0)[:n_each]]
    values, _ = run_statmorph(images[chosen])
    keep = np.isfinite(values).all(axis=1)
    np.savez_compressed(
        path, images=images[chosen][keep], values=values[keep],
        names=np.array(list(PAIRS)),
    )  # fmt: skip
    print(f"wrote {keep.sum()} galaxies and statmorph's values to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    parser.add_argument("--write-reference", type=Path)
    args = parser.parse_args()
    if args.write_reference:
        return write_reference(args.write_reference)
    from _report import markdown_table, median_range, publish
    from sklearn.metrics import roc_auc_score

    n = 120 if args.smoke else args.n
    images, y = galaxies(n)
    ours, names, our_seconds = run_ours(images, 1 if args.smoke else 3)
    _, _, parallel_seconds = run_ours(images, 1 if args.smoke else 3, n_jobs=-1)
    reference, reference_seconds = run_statmorph(images)
    agreement = agreement_rows(ours, names, reference)
    measured = np.isfinite(reference).all(axis=1)
    ours_auc = merger_auc(ours[measured], y[measured])
    columns = [names.index(name) for name in PAIRS]
    reference_auc = merger_auc(reference[measured], y[measured])
    ours_same = merger_auc(ours[measured][:, columns], y[measured])
    pairs = list(PAIRS)
    alone = [
        [f"`{name}`",
         f"{roc_auc_score(y[measured], ours[measured, names.index(name)]):.3f}",
         f"{roc_auc_score(y[measured], reference[measured, pairs.index(name)]):.3f}"]
        for name in ("multimode", "intensity", "deviation", "gini_m20_merger")
    ]  # fmt: skip
    ratio = (n / our_seconds) / (n / reference_seconds)
    body = (
        f"{n} gz1_sdss_64 galaxies ({y.sum()} mergers); statmorph measures "
        f"{measured.sum()} with flag <= 1 and every statistic defined.\n\n"
        "Agreement with statmorph (target: Spearman >= 0.9):\n\n"
        + markdown_table(["statistic", "Spearman", "target", "galaxies"], agreement)
        + "\n\nSpeed (target: >= 50x statmorph's):\n\n"
        + markdown_table(
            ["", "galaxies/s", "ratio"],
            [
                ["MorphologyTransformer", f"{n / our_seconds:.1f}", f"{ratio:.0f}x"],
                [
                    f"MorphologyTransformer(n_jobs=-1), {os.cpu_count()} cores",
                    f"{n / parallel_seconds:.1f}",
                    f"{reference_seconds / parallel_seconds:.0f}x",
                ],
                ["statmorph", f"{n / reference_seconds:.2f}", "1x"],
            ],
        )  # fmt: skip
        + "\n\nMergers, 5-fold logistic regression ROC AUC (target: ours >= 0.96):\n\n"
        + markdown_table(
            ["features", "ROC AUC"],
            [
                ["MorphologyTransformer, every column", median_range(ours_auc)],
                [
                    "MorphologyTransformer, the statistics statmorph has",
                    median_range(ours_same),
                ],
                ["statmorph, the same statistics", median_range(reference_auc)],
            ],
        )  # fmt: skip
        + "\n\nMergers, one statistic as the score (ROC AUC):\n\n"
        + markdown_table(["statistic", "MorphologyTransformer", "statmorph"], alone)
    )
    publish(
        "morphology_statmorph",
        "Morphology statistics against statmorph",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
