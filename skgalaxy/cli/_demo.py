"""The ``skgalaxy demo`` job: every estimator on one data set, and a report."""

import time
from pathlib import Path

import numpy as np

from .. import __version__

#: The classes of the quick demo: those of Galaxy Zoo's 4-class task.
QUICK_CLASSES = (
    "round_smooth",
    "unbarred_loose_spiral",
    "edge_on_with_bulge",
    "merging",
)


_SUMMARY_KEY = (
    "Each step trains one estimator at its defaults on the data below and "
    "scores it on images it did not see. Accuracy and macro-F1 (the mean of "
    "the per-class F1, so that rare classes count) range from 0 to 1; the "
    "ELBO is the flow VAE's lower bound on the log-likelihood of a held-out "
    "image, in nats (higher is better); ROC AUC is the chance that a planted "
    "anomaly scores above a normal galaxy (0.5 is guessing); the rank-weighted "
    "score (RWS) of a hunt with n anomalies is 1 when its n highest-ranked "
    "galaxies are the anomalies and 0 when none of them is, the top ranks "
    "weighing most."
)


#: The hunt's recall is over the ``K_HUNT`` highest-ranked galaxies.
K_HUNT = 20


class Report:
    """Collects figures and summary rows; writes ``report.md`` in ``out``."""

    def __init__(self, out):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.sections = []
        self.summary = []

    def figure(self, name, caption, how_to_read, function, *args, **kwargs):
        """Draw with ``skgalaxy.plotting.<function>``, save, and keep for the
        report under ``caption``, with a sentence on how to read it."""
        path = self.out / name
        try:
            from .. import plotting

            fig = getattr(plotting, function)(*args, **kwargs)
        except ImportError:
            print(f"matplotlib is not installed: {name} not written.")
            return
        fig.savefig(path, dpi=80)
        import matplotlib.pyplot as plt

        plt.close(fig)
        image = f"![{caption}]({name})"
        self.sections.append(f"### {caption}\n\n{how_to_read}\n\n{image}\n")
        print(f"wrote {path}")

    def add(self, step, result, seconds):
        self.summary.append((step, result, f"{seconds:.0f} s"))

    def write(self, title):
        rows = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in self.summary)
        text = (
            f"# {title}\n\n{_SUMMARY_KEY}\n\n"
            f"| step | result | time |\n|---|---|---|\n{rows}\n\n"
            + "\n".join(self.sections)
        )
        path = self.out / "report.md"
        path.write_text(text)
        return path

    def print_summary(self):
        width = max(len(step) for step, _, _ in self.summary)
        print("\nsummary")
        for step, result, seconds in self.summary:
            print(f"  {step:<{width}}  {result}  ({seconds})")


def _load_data(args):
    from ..datasets import load_images, make_galaxies

    if args.data is None and args.quick:
        # Minutes on two cores: the four classes of Galaxy Zoo's morphology
        # task (smooth, spiral, edge-on, merging), 32 pixels across.
        data = make_galaxies(
            1200, image_size=32, classes=QUICK_CLASSES, random_state=args.random_state
        )
        source = (
            f"make_galaxies(1200, image_size=32, classes={list(QUICK_CLASSES)}, "
            f"random_state={args.random_state})"
        )
    elif args.data is None:
        data = make_galaxies(3000, random_state=args.random_state)
        source = f"make_galaxies(3000, random_state={args.random_state})"
    else:
        data = load_images(args.data)
        if data.target is None:
            raise ValueError(f"{args.data} has no labels; the demo needs them.")
        source = str(args.data)
    return data, source


def _class_table(data):
    counts = np.bincount(data.target, minlength=len(data.target_names))
    width = max(len(str(name)) for name in data.target_names)
    return "\n".join(
        f"  {str(name):<{width}}  {count:>6}"
        for name, count in zip(data.target_names, counts)
    )


def _progress(args):
    """The estimators' ``verbose``: a progress bar unless ``--quiet``."""
    return 0 if args.quiet else 1


def run_demo(args):
    """Classifier, flow VAE, CAE and a short AHUNT hunt; figures and report.md."""
    from ..preprocessing import ArcsinhScaler

    data, source = _load_data(args)
    report = Report(args.out)
    print(f"skgalaxy {__version__} demo")
    print(
        f"data: {source}: {data.images.shape[0]} images of shape "
        f"{data.images.shape[1:]} ({data.images.dtype})"
    )
    print(_class_table(data))
    scaled = ArcsinhScaler().fit_transform(data.images)
    print(
        f"ArcsinhScaler: scaled pixel range [{float(scaled.min()):.3f}, "
        f"{float(scaled.max()):.3f}]"
    )
    report.figure(
        "examples.png",
        "Example images per class",
        "A row per class, the first eight images of each, all on one stretch.",
        "plot_class_grid",
        data.images,
        data.target,
        data.target_names,
    )
    _demo_classifier(data, args, report)
    scaler, vae = _demo_flow_vae(data, args, report)
    anomalies = _anomaly_data(data, args)
    _demo_cae(anomalies, args, report)
    _demo_hunt(anomalies, scaler, vae, args, report)
    report.print_summary()
    print(f"wrote {report.write(f'skgalaxy {__version__} demo: {source}')}")
    return 0


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _demo_classifier(data, args, report):
    """Train GalaxyCNNClassifier on 75 % of the data; report on the rest."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from ..classification import GalaxyCNNClassifier
    from ..preprocessing import ArcsinhScaler

    X_train, X_test, y_train, y_test = train_test_split(
        data.images,
        data.target,
        test_size=0.25,
        stratify=data.target,
        random_state=args.random_state,
    )
    epochs = 12 if args.quick else 20
    model = make_pipeline(
        ArcsinhScaler(),
        GalaxyCNNClassifier(
            max_epochs=epochs, random_state=args.random_state, verbose=_progress(args)
        ),
    )
    print(
        f"\nGalaxyCNNClassifier: training on {len(X_train)} images, {epochs} epochs ..."
    )
    _, seconds = _timed(model.fit, X_train, y_train)
    pred = model.predict(X_test)
    labels = np.arange(len(data.target_names))
    accuracy = accuracy_score(y_test, pred)
    macro_f1 = f1_score(y_test, pred, average="macro")
    print(
        f"test accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f} ({len(X_test)} images)"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    matrix = confusion_matrix(y_test, pred, labels=labels)
    for i, row in enumerate(matrix):
        print(
            f"  {i:>2} "
            + " ".join(f"{v:>4}" for v in row)
            + f"   {data.target_names[i]}"
        )
    report.add(
        "GalaxyCNNClassifier",
        f"test accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}",
        seconds,
    )
    report.figure(
        "confusion_matrix.png",
        "Classifier confusion matrix (held-out images)",
        "Rows are the true classes, columns the predicted ones; each row sums "
        "to 1, so the diagonal is each class's recall and the rest says what "
        "it is mistaken for.",
        "plot_confusion_matrix",
        y_test,
        pred,
        labels,
        [str(n) for n in data.target_names],
    )


def _demo_flow_vae(data, args, report):
    """Fit the flow-prior VAE; report held-out ELBO, save reconstructions, samples."""
    from sklearn.model_selection import train_test_split

    from ..preprocessing import ArcsinhScaler
    from ..representation import FlowVAETransformer

    X_train, X_test = train_test_split(
        data.images, test_size=0.25, random_state=args.random_state
    )
    scaler = ArcsinhScaler().fit(X_train)
    epochs = 5 if args.quick else 20
    vae = FlowVAETransformer(
        n_components=16,
        max_epochs=epochs,
        random_state=args.random_state,
        verbose=_progress(args),
    )
    print(
        f"\nFlowVAETransformer: training on {len(X_train)} images, {epochs} epochs ..."
    )
    _, seconds = _timed(vae.fit, scaler.transform(X_train))
    test = scaler.transform(X_test)
    elbo = vae.score(test)
    bits = -elbo / (test[0].size * np.log(2))
    print(f"held-out ELBO {elbo:.1f} nats per image ({bits:.3f} bits/dim)")
    report.add("FlowVAETransformer", f"held-out ELBO {elbo:.1f} nats/image", seconds)
    recon = vae.inverse_transform(vae.transform(test[:8]))
    samples = vae.sample(8, random_state=args.random_state)
    report.figure(
        "vae_reconstructions.png",
        "Flow VAE: held-out images and their reconstructions",
        "Top: images the VAE did not train on (arcsinh-scaled); bottom: each "
        "decoded from its embedding, on the same stretch. Blur and lost "
        "detail show what the embedding does not keep.",
        "plot_image_rows",
        {"input": test[:8], "reconstruction": recon},
    )
    report.figure(
        "vae_samples.png",
        "Flow VAE: new galaxies from Gaussian noise pushed through the flow",
        "Each image is decoded from a point the flow prior draws: the closer "
        "they look to the examples above, the better the model of galaxies.",
        "plot_image_rows",
        {"sample": samples},
    )
    return scaler, vae


def _anomaly_data(data, args):
    """Normal images of the demo data plus planted make_galaxies anomalies.

    The anomalies are synthetic (satellite trails, saturated stars, lensing
    arcs) so that the truth is known whatever ``--data`` is.
    """
    from ..datasets import make_galaxies

    rng = np.random.default_rng(args.random_state)
    n_normal = min(len(data.images), 1200 if args.quick else 2000)
    normal = data.images[rng.permutation(len(data.images))[:n_normal]]
    size = normal.shape[1]
    if normal.shape[1:] != (size, size, 3):
        raise ValueError("the anomaly demo needs square RGB images")
    planted = make_galaxies(
        max(12, n_normal // 20),
        image_size=size,
        anomaly_fraction=1.0,
        random_state=args.random_state + 1,
    )
    images = np.concatenate([normal, planted.images.astype(normal.dtype)])
    kinds = np.array(
        ["normal"] * n_normal + list(planted.target_names[planted.target]),
        dtype=object,
    )
    return images, kinds


def _demo_cae(anomalies, args, report):
    """Fit the CAE on normal images; score held-out normal + planted anomalies.

    Then the fitted CAE's codes (frozen: not trained again) beside the
    morphology statistics, under one Gaussian-mixture density: a code and a
    morphology that never go together in normal galaxies (a compact smooth
    galaxy coded like a ring) are rare although each alone is ordinary.
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    from ..anomaly import CAEAnomalyDetector, GaussianMixtureDetector
    from ..morphology import MorphologyTransformer
    from ..preprocessing import ArcsinhScaler

    images, kinds = anomalies
    normal = np.flatnonzero(kinds == "normal")
    train, held_out = normal[: len(normal) * 2 // 3], normal[len(normal) * 2 // 3 :]
    test = np.concatenate([held_out, np.flatnonzero(kinds != "normal")])
    epochs = 100 if args.quick else 30
    cae = make_pipeline(
        ArcsinhScaler(),
        CAEAnomalyDetector(
            max_epochs=epochs, random_state=args.random_state, verbose=_progress(args)
        ),
    )
    morphology = make_pipeline(
        MorphologyTransformer(),
        StandardScaler(),
        GaussianMixtureDetector(random_state=args.random_state),
    )
    joint = make_pipeline(
        make_union(MorphologyTransformer(), FrozenEstimator(cae)),
        StandardScaler(),
        GaussianMixtureDetector(random_state=args.random_state),
    )
    print(
        f"\nCAEAnomalyDetector: training on {len(train)} normal images, "
        f"{epochs} epochs ..."
    )
    _, seconds = _timed(cae.fit, images[train])
    _, morphology_seconds = _timed(morphology.fit, images[train])
    _, joint_seconds = _timed(joint.fit, images[train])
    is_anomaly = kinds[test] != "normal"
    print(
        f"On {len(held_out)} held-out normal images and {is_anomaly.sum()} "
        "planted anomalies:"
    )
    auc = _report_detector("CAEAnomalyDetector alone", cae, images[test], is_anomaly)
    report.add("CAEAnomalyDetector", f"ROC AUC {auc:.3f} on planted anomalies", seconds)
    name = "morphology alone, Gaussian mixture"
    auc = _report_detector(name, morphology, images[test], is_anomaly)
    report.add(name, f"ROC AUC {auc:.3f} on planted anomalies", morphology_seconds)
    name = "CAE codes + morphology, Gaussian mixture"
    auc = _report_detector(name, joint, images[test], is_anomaly)
    report.add(name, f"ROC AUC {auc:.3f} on planted anomalies", joint_seconds)
    top = test[np.argsort(joint.score_samples(images[test]))[:8]]
    report.figure(
        "anomaly_gallery.png",
        "CAE codes + morphology: the eight most anomalous test images",
        "The test images the detector finds least likely, most anomalous on "
        "the left; the caption under each is what it truly is (normal or the "
        "kind of planted anomaly).",
        "plot_image_rows",
        {"most anomalous": images[top]},
        titles={"most anomalous": list(kinds[top])},
    )
    print("most anomalous, truth:", ", ".join(kinds[top]))


def _report_detector(name, detector, images, is_anomaly):
    """Print a fitted detector's ROC AUC and flagged fraction; return the AUC."""
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(is_anomaly, -detector.score_samples(images))
    flagged = np.mean(detector.predict(images[is_anomaly]) == -1)
    print(
        f"  {name:<42} ROC AUC {auc:.3f}; {flagged:.0%} of the anomalies "
        "flagged (predict = -1)"
    )
    return auc


def _demo_hunt(anomalies, scaler, vae, args, report):
    """A short simulated AHUNT hunt on the images, beside an isolation forest."""
    from sklearn.ensemble import IsolationForest

    from ..active import ActiveHunter, UnsupervisedHunter, make_nights, simulate_hunt
    from ..anomaly import AHUNTDetector

    images, kinds = anomalies
    labels = np.where(kinds == "normal", "galaxy", kinds)
    interest = sorted(set(labels) - {"galaxy"})
    n_nights = 8
    embeddings = vae.transform(scaler.transform(images))
    initial, nights = make_nights(
        labels,
        n_nights,
        anomaly_labels=interest,
        n_initial=len(labels) // 5,
        random_state=args.random_state,
    )
    hunters = {
        "AHUNT (images)": ActiveHunter(
            AHUNTDetector(n_queries=5, random_state=args.random_state), images
        ),
        "IsolationForest (VAE embeddings)": UnsupervisedHunter(
            IsolationForest(random_state=args.random_state), embeddings
        ),
    }
    print(
        f"\nAHUNT: hunting anomalies for {n_nights} nights, 5 queries per night "
        "(the oracle reveals the true kinds) ..."
    )
    results, seconds = _timed(
        simulate_hunt,
        hunters,
        labels,
        initial,
        nights,
        interest_labels=interest,
        k=K_HUNT,
        verbose=_progress(args),
    )
    final = results[results["round"] == n_nights].set_index("method")
    for method, row in final.iterrows():
        print(
            f"  {method:<34} final rank-weighted score {row['rws']:.3f}, "
            f"recall at k={K_HUNT} {row['recall']:.3f}"
        )
    report.add(
        "AHUNTDetector hunt",
        f"final RWS {final['rws'].iloc[0]:.3f} vs isolation forest "
        f"{final['rws'].iloc[1]:.3f}",
        seconds,
    )
    report.figure(
        "hunt_curves.png",
        "Simulated hunt for the planted anomalies: scores per night",
        "After each night the methods rank the whole pool seen so far. Left: "
        "the rank-weighted score (1: the anomalies ranked first); middle: the "
        f"share of the anomalies among the {K_HUNT} highest ranked; right: "
        "the share of the galaxies shown to the oracle that night that were "
        "anomalies (the forest asks nothing). Higher is better in each.",
        "plot_hunt_curves",
        results,
        k=K_HUNT,
    )


def add_parser(commands):
    """Add the ``demo`` sub-command to ``commands``."""
    demo = commands.add_parser(
        "demo", help="run the main job on synthetic galaxies (or --data) and report"
    )
    demo.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a .npz cutout file or a Galaxy10 .h5 file (default: make_galaxies)",
    )
    demo.add_argument(
        "--out",
        default="skgalaxy-report",
        help="folder for the report (default: %(default)s)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="small data and few epochs: finishes in minutes",
    )
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(handler=run)


def run(args):
    """Run ``skgalaxy demo``."""
    return run_demo(args)
