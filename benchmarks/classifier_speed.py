"""Speed of GalaxyCNNClassifier against plain PyTorch on the same model and data.

(a) training time per epoch: GalaxyCNNClassifier (skorch) / a plain loop;
(b) prediction throughput: predict_proba (tta=False) / an eager ``model(x)``
    loop in batches of 256 (NCHW, torch.no_grad);
(c) training images/s as a fraction of the measured dense matmul roofline.

    python benchmarks/classifier_speed.py [--n-images 2048] [--epochs 3]
"""

import argparse
import copy
import statistics
import time

import torch
from _report import markdown_table, record

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies
from skgalaxy.nn.classifier import GalaxyCNN

SAME_MODEL = dict(
    augment=False,
    class_weight=None,
    lr_schedule="constant",
    optimizer="adamw",
    label_smoothing=0.1,
    input_noise=0.0,
    batch_size=64,
    lr=2e-3,
    weight_decay=5e-4,
    device="cpu",
)


def plain_epochs(X, y, n_classes, epochs, seed):
    """A plain PyTorch training loop over the same module; seconds per epoch."""
    torch.manual_seed(seed)
    model = GalaxyCNN(3, n_classes, augment=False)
    x = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous()
    t = torch.as_tensor(y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(x)).split(64):
            if len(idx) < 64:
                continue  # the estimator drops the last partial batch too
            optimizer.zero_grad()
            loss_fn(model(x[idx]), t[idx]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def estimator_epochs(X, y, epochs, seed):
    clf = GalaxyCNNClassifier(max_epochs=epochs, random_state=seed, **SAME_MODEL)
    clf.fit(X, y)
    return list(clf.net_.history[:, "dur"]), clf


def eager_throughput(module, x, repeats):
    """A plain eager loop: NCHW tensors, batches of 256, no_grad."""
    model = copy.deepcopy(module).to(memory_format=torch.contiguous_format)
    model.memory_format = torch.contiguous_format
    model.eval()
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.no_grad():
            for batch in x.split(256):
                model(batch).softmax(dim=1)
        best.append(len(x) / (time.perf_counter() - start))
    return statistics.median(best)


def estimator_throughput(clf, X, repeats):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf.predict_proba(X)
        rates.append(len(X) / (time.perf_counter() - start))
    return statistics.median(rates)


def forward_flops(module, shape):
    """Multiply-adds x 2 of one forward pass of one image (convs and linears)."""
    flops = []

    def hook(layer, inputs, output):
        if isinstance(layer, torch.nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            flops.append(2 * layer.in_channels * k * output[0].numel() // layer.groups)
        elif isinstance(layer, torch.nn.Linear):
            flops.append(2 * layer.in_features * layer.out_features)

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    module.eval()
    with torch.no_grad():
        module(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return sum(flops)


def matmul_peak(size=2048, repeats=10):
    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n_images, args.epochs, args.repeats = 256, 2, 1
    data = make_galaxies(args.n_images, random_state=0)
    X = ArcsinhScaler().fit_transform(data.images)
    y = data.target
    plain, ours = [], []
    for repeat in range(args.repeats):  # interleaved, so drift hits both alike
        plain += plain_epochs(X, y, 10, args.epochs, repeat)[1:]
        durations, clf = estimator_epochs(X, y, args.epochs, repeat)
        ours += durations[1:]
    plain_epoch, our_epoch = statistics.median(plain), statistics.median(ours)
    clf.set_params(tta=False)
    x = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous()
    eager = eager_throughput(clf.net_.module_, x, args.repeats)
    served = estimator_throughput(clf, X, args.repeats)
    flops = forward_flops(clf.net_.module_, x.shape[1:])
    peak = matmul_peak()
    train_rate = (len(X) // 64 * 64) / our_epoch
    roofline = 3 * flops * train_rate / peak
    rows = [
        [
            "(a) fit s/epoch: GalaxyCNNClassifier / plain loop",
            f"{our_epoch:.2f} / {plain_epoch:.2f}",
            f"{our_epoch / plain_epoch:.3f}",
            "<= 1.05",
        ],
        [
            "(b) predict images/s: predict_proba / eager model(x), batches of 256",
            f"{served:.0f} / {eager:.0f}",
            f"{served / eager:.2f}",
            ">= 1.5",
        ],
        [
            "(c) training FLOP/s / dense matmul peak",
            f"{3 * flops * train_rate / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s",
            f"{roofline:.3f}",
            "reported",
        ],
    ]
    table = markdown_table(["measure", "values", "ratio", "target"], rows)
    print(table)
    print(f"forward: {flops / 1e6:.1f} MFLOP/image; training {train_rate:.0f} images/s")
    if not args.quick:
        record(
            "classifier_speed",
            "GalaxyCNNClassifier speed (same model, data, batch 64)",
            f"{args.n_images} make_galaxies images (64x64x3), default architecture, "
            f"augmentation off in both; medians of {args.repeats} interleaved repeats "
            f"x {args.epochs - 1} timed epochs (first epoch of each run is warm-up). "
            f"Forward pass {flops / 1e6:.1f} MFLOP/image; training counted as 3x "
            f"forward.\n\n{table}\n",
        )


if __name__ == "__main__":
    main()
