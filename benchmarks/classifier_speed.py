"""Speed of GalaxyCNNClassifier against plain PyTorch on the same model and data.

(a) training time per epoch: GalaxyCNNClassifier (skorch) / a plain loop;
(b) prediction throughput: predict_proba (tta=False) / an eager ``model(x)``
    loop in batches of 256 under torch.no_grad, once with NCHW (contiguous)
    tensors and weights and once channels-last, the estimator's own format;
(c) training images/s as a fraction of the measured dense matmul roofline;
(d) skgalaxy's data path (skorch's DataLoader over a BatchSampler: one
    ``dataset[indices]`` per batch) / slicing whole tensors per batch (the
    iterator skgalaxy used before), training epochs of the same net.

Each ratio is computed per repeat; the table gives the median and range.

    python benchmarks/classifier_speed.py [--n-images 2048] [--epochs 3] [--smoke]
"""

import argparse
import copy
import math
import statistics
import time

import torch
from _report import markdown_table, matmul_peak, median_range, publish

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy._loaders import batch_loader
from skgalaxy._training import TrainingNet, make_net
from skgalaxy.datasets import make_galaxies
from skgalaxy.nn import rng
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


def eager_throughput(module, x, memory_format):
    """A plain eager loop in batches of 256 under no_grad, in ``memory_format``."""
    model = copy.deepcopy(module).to(memory_format=memory_format)
    model.channels_last = memory_format == torch.channels_last
    model.eval()
    x = x.contiguous(memory_format=memory_format)
    start = time.perf_counter()
    with torch.no_grad():
        for batch in x.split(256):
            model(batch).softmax(dim=1)
    return len(x) / (time.perf_counter() - start)


def estimator_throughput(clf, X):
    start = time.perf_counter()
    clf.predict_proba(X)
    return len(X) / (time.perf_counter() - start)


class SlicingIterator:
    """The former data path: whole tensors sliced per batch, shuffled by torch."""

    def __init__(self, dataset, batch_size=64, shuffle=False, drop_last=False):
        self.X = torch.as_tensor(dataset.X)
        self.y = torch.as_tensor(dataset.y)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last

    def __len__(self):
        n = len(self.X) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=rng.generator()) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.X[idx], self.y[idx]


def data_path_epochs(X_t, y_t, iterator, epochs, seed):
    """Seconds per training epoch of the default net with ``iterator``."""
    net = make_net(
        TrainingNet,
        GalaxyCNN,
        device="cpu",
        verbose=0,
        batch_size=64,
        max_epochs=epochs,
        iterator_train=iterator,
        iterator_train__drop_last=True,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        module__n_classes=10,
        module__augment=False,
    )
    torch.manual_seed(seed)
    with rng.seeded(seed):
        net.fit(X_t, y_t)
    return list(net.history[1:, "dur"])


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    if args.smoke:
        args.n_images, args.epochs, args.repeats = 256, 2, 1
    data = make_galaxies(args.n_images, random_state=0)
    X = ArcsinhScaler().fit_transform(data.images)
    y = data.target
    x = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous()
    ratios = {key: [] for key in ("fit", "nchw", "channels_last", "data_path")}
    values = {
        key: [] for key in ("plain", "ours", "served", "nchw", "cl", "dl", "slice")
    }
    for repeat in range(args.repeats):  # interleaved, so drift hits both alike
        plain = statistics.median(plain_epochs(X, y, 10, args.epochs, repeat)[1:])
        durations, clf = estimator_epochs(X, y, args.epochs, repeat)
        ours = statistics.median(durations[1:])
        clf.set_params(tta=False)
        module = clf.net_.module_
        nchw = eager_throughput(module, x, torch.contiguous_format)
        served = estimator_throughput(clf, X)
        channels_last = eager_throughput(module, x, torch.channels_last)
        loader = statistics.median(
            data_path_epochs(x, torch.as_tensor(y), batch_loader, args.epochs, repeat)
        )
        sliced = statistics.median(
            data_path_epochs(
                x, torch.as_tensor(y), SlicingIterator, args.epochs, repeat
            )
        )
        ratios["fit"].append(ours / plain)
        ratios["nchw"].append(served / nchw)
        ratios["channels_last"].append(served / channels_last)
        ratios["data_path"].append(loader / sliced)
        for key, value in zip(
            values, (plain, ours, served, nchw, channels_last, loader, sliced)
        ):
            values[key].append(value)
        print(
            f"repeat {repeat}: "
            + ", ".join(f"{k} {v[-1]:.3f}" for k, v in values.items()),
            flush=True,
        )
    flops = forward_flops(clf.net_.module_, x.shape[1:])
    peak = matmul_peak()
    our_epoch = statistics.median(values["ours"])
    train_rate = (len(X) // 64 * 64) / our_epoch
    roofline = 3 * flops * train_rate / peak
    med = {k: statistics.median(v) for k, v in values.items()}
    rows = [
        [
            "(a) fit s/epoch: GalaxyCNNClassifier / plain loop",
            f"{med['ours']:.2f} / {med['plain']:.2f}",
            median_range(ratios["fit"]),
            "<= 1.05",
        ],
        [
            "(b1) predict images/s: predict_proba / eager NCHW model(x)",
            f"{med['served']:.0f} / {med['nchw']:.0f}",
            median_range(ratios["nchw"], ".2f"),
            ">= 1.5",
        ],
        [
            "(b2) predict images/s: predict_proba / eager channels-last model(x)",
            f"{med['served']:.0f} / {med['cl']:.0f}",
            median_range(ratios["channels_last"], ".2f"),
            "reported",
        ],
        [
            "(c) training FLOP/s / dense matmul peak",
            f"{3 * flops * train_rate / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s",
            f"{roofline:.3f}",
            "reported",
        ],
        [
            "(d) s/epoch: skorch DataLoader + BatchSampler / sliced tensors",
            f"{med['dl']:.2f} / {med['slice']:.2f}",
            median_range(ratios["data_path"]),
            "reported",
        ],
    ]
    table = markdown_table(
        ["measure", "values (medians)", "ratio, median (min-max)", "target"], rows
    )
    body = (
        f"{args.n_images} make_galaxies images (64x64x3), default architecture, "
        f"augmentation off everywhere; {args.repeats} interleaved repeats x "
        f"{args.epochs - 1} timed epochs (the first epoch of each run is warm-up); "
        "predictions in batches of 256 (the estimator's inference batch). Forward "
        f"pass {flops / 1e6:.1f} MFLOP/image; training counted as 3x forward.\n\n"
        f"{table}\n"
    )
    publish(
        "classifier_speed",
        "GalaxyCNNClassifier speed (same model, data, batch 64)",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
