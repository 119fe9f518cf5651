"""FlowVAETransformer: flow prior vs N(0, I) prior, β, embeddings, samples, speed.

On real SDSS galaxies (gz1_sdss_64, stratified 80/20 split per seed), with
ArcsinhScaler fitted on the training split, same architecture and epochs for
every model, 3 seeds, median (min-max). Three parts, each its own section of
RESULTS.md (``--part``; about an hour or less each, so each runs alone in one
sitting):

``real``
    1. held-out ELBO (nats per image and bits per dimension) for the flow
       prior and the N(0, I) prior, with its parts: the reconstruction
       log-likelihood at the posterior mean, the KL term and the mean
       posterior log-variance, to read what drives a difference;
    2. LogisticRegression (4 classes) on the embeddings vs on PCA of equal
       width;
    3. Fréchet distance between real test images and 2,000 samples in the
       embedding space of a GalaxyCNNClassifier trained on the real data, and
       sampling throughput; fit time per epoch; a PNG grid of inputs,
       reconstructions and samples (seed 0).
``synthetic``
    The ELBO table of ``real`` on make_galaxies images (scaler fitted on the
    training part).
``beta``
    Colour kept, no grey collapse, for three β values (flow prior):
    correlation of each galaxy's g-r-like colour index between input and
    reconstruction, reconstruction pixel std / data std, pixel MSE.

    python benchmarks/flow_vae.py [--part real synthetic beta] [--epochs 10]
                                  [--seeds 3]
    python benchmarks/flow_vae.py --smoke       # every part, tiny, no record
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _report import load_gz1_morphology, markdown_table, median_range, run_parts
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgalaxy import ArcsinhScaler, FlowVAETransformer, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies
from skgalaxy.metrics import frechet_distance

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "flow_vae.png"
PRIORS = {"flow prior (NSF)": "nsf", "N(0, I) prior": None}
BETAS = (0.25, 1.0, 4.0)
JUDGE_EPOCHS = 12


def colour_index(images):
    """Mean (g - r) of the central 32x32 pixels; channels are (i, r, g)."""
    centre = images[:, 16:48, 16:48]
    return (centre[..., 2] - centre[..., 1]).mean(axis=(1, 2))


def fit_vae(X, epochs, seed, **params):
    vae = FlowVAETransformer(
        max_epochs=epochs, random_state=seed, device="cpu", **params
    )
    start = time.perf_counter()
    vae.fit(X)
    return vae, (time.perf_counter() - start) / epochs


def elbo_parts(vae, X_test, epoch_s):
    """Held-out ELBO and its parts, per image (nats), and bits per dimension."""
    elbo = vae.score_samples(X_test)
    module = vae.net_.module_
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(X_test, (0, 3, 1, 2))))
    with torch.inference_mode():
        parts = [
            module.elbo_terms(b, torch.zeros(vae.n_components)) for b in x.split(256)
        ]
        log_var = torch.cat([module.encode(b)[1] for b in x.split(256)])
    log_likelihood = torch.cat([p[0] for p in parts]).mean().item()
    kl = torch.cat([p[1] for p in parts]).mean().item()
    return {
        "elbo": elbo.mean(),
        "bits": -elbo.mean() / (X_test[0].size * np.log(2)),
        "log_likelihood": log_likelihood,
        "kl": kl,
        "log_var": log_var.mean().item(),
        "epoch_s": epoch_s,
    }


ELBO_COLUMNS = {
    "elbo": ("mean ELBO (nats)", ".0f"),
    "bits": ("bits/dim", ".4f"),
    "log_likelihood": ("log p(x given the posterior mean)", ".0f"),
    "kl": ("KL at the posterior mean", ".1f"),
    "log_var": ("mean posterior log-variance", ".2f"),
    "epoch_s": ("fit s/epoch", ".1f"),
}


def elbo_table(runs):
    """One row per prior: median (min-max) over seeds of each part; then
    each seed's ELBOs side by side (the priors share a seed's split and
    initialisation, so the pairs compare like with like)."""
    return (
        markdown_table(
            ["prior", *[name for name, _ in ELBO_COLUMNS.values()]],
            [
                [
                    prior,
                    *[
                        median_range([r[prior][key] for r in runs], fmt)
                        for key, (_, fmt) in ELBO_COLUMNS.items()
                    ],
                ]
                for prior in PRIORS
            ],
        )
        + "\n\nPer seed, mean ELBO ("
        + " / ".join(PRIORS)
        + "): "
        + "; ".join(
            f"seed {seed}: " + " / ".join(f"{r[prior]['elbo']:.0f}" for prior in PRIORS)
            for seed, r in enumerate(runs)
        )
    )


def reconstruction_parts(vae, X_test):
    recon = vae.inverse_transform(vae.transform(X_test))
    return {
        "colour": np.corrcoef(colour_index(X_test), colour_index(recon))[0, 1],
        "std": recon.std() / X_test.std(),
        "mse": ((recon - X_test) ** 2).mean(),
    }, recon


def save_grid(X_test, recon, samples, n=8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, n, figsize=(1.2 * n, 3.9))
    for row, (title, images) in enumerate(
        [("input", X_test), ("reconstruction", recon), ("sample", samples)]
    ):
        for col in range(n):
            axes[row, col].imshow(np.clip(images[col], 0, 1))
            axes[row, col].axis("off")
        axes[row, 0].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=70)


def macro_f1(features_tr, y_tr, features_te, y_te):
    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced")
    )
    return f1_score(
        y_te, clf.fit(features_tr, y_tr).predict(features_te), average="macro"
    )


def real_split(images, y, seed):
    """Stratified 80/20 split, scaled by an ArcsinhScaler fitted on the 80 %."""
    X_tr_raw, X_te_raw, y_tr, y_te = train_test_split(
        images, y, test_size=0.2, stratify=y, random_state=seed
    )
    scaler = ArcsinhScaler().fit(X_tr_raw)
    return scaler.transform(X_tr_raw), scaler.transform(X_te_raw), y_tr, y_te


def real_seed(images, y, seed, args):
    """ELBO of both priors, linear probes, Fréchet distance and sampling speed."""
    k = args.n_components
    X_tr, X_te, y_tr, y_te = real_split(images, y, seed)
    result = {"elbo": {}, "probe": {}, "fd": {}}
    models = {}
    for name, flow in PRIORS.items():
        models[name], epoch_s = fit_vae(
            X_tr, args.epochs, seed, n_components=k, flow=flow
        )
        result["elbo"][name] = elbo_parts(models[name], X_te, epoch_s)
        print(seed, "real", name, result["elbo"][name], flush=True)
    flow_vae = models["flow prior (NSF)"]
    if seed == 0 and not args.smoke:
        recon = flow_vae.inverse_transform(flow_vae.transform(X_te[:8]))
        save_grid(X_te, recon, flow_vae.sample(8, random_state=0))

    flat_tr, flat_te = X_tr.reshape(len(X_tr), -1), X_te.reshape(len(X_te), -1)
    pca = PCA(n_components=k, random_state=seed).fit(flat_tr)
    features = {
        f"FlowVAETransformer ({k} dims)": flow_vae,
        f"N(0, I)-prior VAE ({k} dims)": models["N(0, I) prior"],
    }
    for name, vae in features.items():
        result["probe"][name] = macro_f1(
            vae.transform(X_tr), y_tr, vae.transform(X_te), y_te
        )
    result["probe"][f"PCA ({k} components)"] = macro_f1(
        pca.transform(flat_tr), y_tr, pca.transform(flat_te), y_te
    )

    judge = GalaxyCNNClassifier(
        max_epochs=judge_epochs(args), random_state=seed, device="cpu"
    ).fit(X_tr, y_tr)
    real_features = judge.transform(X_te)
    for name, vae in models.items():
        start = time.perf_counter()
        samples = vae.sample(n_samples(args), random_state=seed)
        rate = n_samples(args) / (time.perf_counter() - start)
        fd = frechet_distance(real_features, judge.transform(samples))
        result["fd"][name] = {"fd": fd, "rate": rate}
    return result, (len(X_tr), len(X_te))


def synthetic_seed(images, y, seed, args):
    """ELBO of both priors on make_galaxies images."""
    synthetic = make_galaxies(args.n_synthetic, random_state=0).images
    cut = int(0.8 * len(synthetic))
    scaler = ArcsinhScaler().fit(synthetic[:cut])  # on the training part only
    syn_tr, syn_te = (
        scaler.transform(synthetic[:cut]),
        scaler.transform(synthetic[cut:]),
    )
    result = {"elbo": {}}
    for name, flow in PRIORS.items():
        vae, epoch_s = fit_vae(
            syn_tr, args.epochs, seed, n_components=args.n_components, flow=flow
        )
        result["elbo"][name] = elbo_parts(vae, syn_te, epoch_s)
        print(seed, "synthetic", name, result["elbo"][name], flush=True)
    return result, (len(syn_tr), len(syn_te))


def beta_seed(images, y, seed, args):
    """Reconstruction colour and contrast of the flow-prior VAE at each β."""
    X_tr, X_te, _, _ = real_split(images, y, seed)
    result = {}
    for beta in BETAS:
        vae = fit_vae(
            X_tr, args.epochs, seed, n_components=args.n_components, beta=beta
        )[0]
        result[beta], _ = reconstruction_parts(vae, X_te)
    return result, (len(X_tr), len(X_te))


def judge_epochs(args):
    return 1 if args.smoke else JUDGE_EPOCHS


def n_samples(args):
    return 200 if args.smoke else 2000


def setting(sizes, args):
    return (
        f"{sizes[0]} training / {sizes[1]} held-out images per seed, "
        f"n_components={args.n_components}, {args.epochs} epochs, β=1 unless "
        "stated."
    )


def elbo_heading(source, number=""):
    return (
        f"**{number}Held-out ELBO, {source}** (higher ELBO, lower bits/dim is "
        "better; the ELBO averages 8 posterior draws, its parts are at the "
        "posterior mean)"
    )


def real_body(runs, sizes, args):
    probe_rows = [
        [name, median_range([r["probe"][name] for r in runs])]
        for name in runs[0]["probe"]
    ]
    fd_rows = [
        [
            name,
            median_range([r["fd"][name]["fd"] for r in runs]),
            median_range([r["fd"][name]["rate"] for r in runs], ".0f"),
        ]
        for name in PRIORS
    ]
    return "\n\n".join(
        [
            setting(sizes, args),
            elbo_heading("real galaxies", "1. ")
            + "\n\n"
            + elbo_table([r["elbo"] for r in runs]),
            "**2. Embeddings, 4-class LogisticRegression** (held-out macro-F1; "
            "target: FlowVAE > PCA)\n\n"
            + markdown_table(["features", "macro-F1"], probe_rows),
            f"**3. Fréchet distance of {n_samples(args)} samples to the held-out "
            "images** in the embedding of a GalaxyCNNClassifier trained "
            f"{judge_epochs(args)} epochs on the real training split (lower is "
            "better), and sampling throughput\n\n"
            + markdown_table(["prior", "Fréchet distance", "samples/s"], fd_rows)
            + "\n\nGrid (inputs, reconstructions, samples; seed 0): "
            "`docs/images/flow_vae.png`.",
        ]
    )


def synthetic_body(runs, sizes, args):
    return (
        setting(sizes, args)
        + " make_galaxies(random_state=0), the first 80 % for training; "
        "ArcsinhScaler fitted on them.\n\n"
        + elbo_heading("make_galaxies")
        + "\n\n"
        + elbo_table([r["elbo"] for r in runs])
    )


def beta_body(runs, sizes, args):
    rows = [
        [
            beta,
            median_range([r[beta]["colour"] for r in runs]),
            median_range([r[beta]["std"] for r in runs]),
            median_range([r[beta]["mse"] for r in runs], ".5f"),
        ]
        for beta in BETAS
    ]
    return (
        setting(sizes, args)
        + "\n\n**Colour and contrast of reconstructions** (flow prior; targets: "
        "colour correlation >= 0.9, std ratio >= 0.8)\n\n"
        + markdown_table(
            ["β", "colour-index correlation", "recon std / data std", "pixel MSE"],
            rows,
        )
    )


RUNNERS = {
    "real": (real_seed, real_body, "FlowVAETransformer on real galaxies"),
    "synthetic": (
        synthetic_seed,
        synthetic_body,
        "FlowVAETransformer on make_galaxies: flow prior vs N(0, I)",
    ),
    "beta": (beta_seed, beta_body, "FlowVAETransformer: β and reconstructions"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=RUNNERS, nargs="+", default=list(RUNNERS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    args.n_synthetic = 2500
    if args.smoke:
        keep = np.random.default_rng(0).permutation(len(y))[:400]
        images, y = images[keep], y[keep]
        args.part, args.epochs, args.seeds, args.n_synthetic = list(RUNNERS), 1, 1, 200
    run_parts("flow_vae", RUNNERS, images, y, args)


if __name__ == "__main__":
    main()
