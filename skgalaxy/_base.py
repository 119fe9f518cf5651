"""The mixin every torch-backed estimator shares.

Building, training and restoring its skorch net, and gradient-free batched
inference. Device and seeding live in :mod:`skgalaxy._device`, loaders in
:mod:`skgalaxy._loaders`, net construction in :mod:`skgalaxy._training`.
"""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._budget import AllocationBudget
from ._device import draw_seed, resolve_device, torch_seed
from ._training import make_net
from .nn import rng

__all__ = ["PADDED_BATCH", "TORCH_PARAMETER_CONSTRAINTS", "TorchEstimatorMixin"]


TORCH_PARAMETER_CONSTRAINTS = {
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "image_shape": [tuple, list, None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


#: Batch size of padded inference (see ``TorchEstimatorMixin._infer``).
PADDED_BATCH = 128


class TorchEstimatorMixin:
    """Shared behaviour of the skorch-backed estimators.

    Expects the parameters of ``TORCH_PARAMETER_CONSTRAINTS`` and, once fitted,
    keeps the skorch net in ``net_``, its module always in eval mode: training
    happens inside ``fit`` (or ``teach``) only, so inference never changes
    the model and may run in several threads at once.
    """

    def _fit_device(self):
        return resolve_device(self.device)

    def _net_spec(self):
        """``(net_class, module_class, skorch params)`` of this estimator's net.

        Built from parameters and fitted attributes alone, so that a saved
        model's net can be rebuilt (see :mod:`skgalaxy.io`) before its
        weights are loaded.
        """
        raise NotImplementedError

    def _make_net(self, device, **extra):
        """An uninitialised net from :meth:`_net_spec`, ``extra`` on top."""
        net_class, module, params = self._net_spec()
        return make_net(
            net_class,
            module,
            device=device,
            verbose=self.verbose,
            batch_size=self.batch_size,
            # An estimator that never trains (PretrainedEncoder) has neither.
            max_epochs=getattr(self, "max_epochs", 1),
            lr=getattr(self, "lr", 0.0),
            **{**params, **extra},
        )

    def _fit_net(self, X, y=None, *, seed=None, prepare=None, **extra):
        """Build ``net_`` from :meth:`_net_spec` and train it, seeded.

        ``extra`` adds training-only skorch parameters (a validation split,
        say). Weights are initialised from ``seed`` (under
        :func:`torch_seed`); shuffling, augmentation and dropout draw from
        this thread's generator seeded with ``seed``, so the same seed gives
        the same model whatever runs in other threads. The last partial batch
        is dropped when there is more than one batch, so BatchNorm never sees
        a batch of one. ``prepare(net)``, if given, runs on the initialised
        net before training (to load pretrained weights, say). Sets ``net_``
        and ``n_iter_``.
        """
        device = self._fit_device()
        seed = draw_seed(self.random_state) if seed is None else seed
        extra.setdefault("iterator_train__drop_last", len(X) > self.batch_size)
        net = self._make_net(device, **extra)
        with torch_seed(seed, device):
            net.initialize()
        if prepare is not None:
            prepare(net)
        self._train_net(net, X, y, seed=seed)
        self.net_ = net
        return self

    def _module_layout(self, max_bytes):
        """The state of the module :meth:`_net_spec` describes, built in a budget.

        Returns ``({name: (shape, dtype)} of its state dict, bytes of all its
        parameters and buffers)``. The module is built on the CPU under
        :class:`AllocationBudget`, so a saved model whose parameters describe
        a network larger than ``max_bytes`` is refused before that memory is
        asked for.
        """
        _, module, params = self._net_spec()
        prefix = "module__"
        kwargs = {
            k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)
        }
        with AllocationBudget(max_bytes):
            built = module(**kwargs)
        tensors = [*built.parameters(), *built.buffers()]
        layout = {
            name: (tuple(value.shape), value.dtype)
            for name, value in built.state_dict().items()
        }
        return layout, sum(t.numel() * t.element_size() for t in tensors)

    def _restore_net(self, module_state):
        """Rebuild ``net_`` on the CPU around a saved module state dict."""
        net = self._make_net("cpu")
        with torch_seed(0):
            net.initialize()
        net.module_.load_state_dict(module_state)
        net.module_.eval()
        self.net_ = net

    def _train_net(self, net, X, y=None, *, seed, epochs=None):
        """Train ``net`` (further) for ``epochs`` (default ``max_epochs``), seeded.

        Leaves its module in eval mode and sets ``n_iter_``.
        """
        with rng.seeded(seed):
            if epochs is None:
                net.partial_fit(X, y)
            else:
                net.fit_loop(X, y, epochs=epochs)
        net.module_.eval()
        self.n_iter_ = len(net.history)

    #: ``{method: output names}`` of the methods :meth:`_inference_forward`
    #: computes, which :func:`skgalaxy.io.export_onnx` can export.
    _onnx_outputs = {}

    def _inference_forward(self, method):
        """The function of NCHW input batches that ``method`` applies.

        The estimator's own ``method`` runs it through :meth:`_infer`, and
        :func:`skgalaxy.io.export_onnx` exports it, so the two cannot drift
        apart. Returns a tensor, or a tuple of tensors named as in
        ``_onnx_outputs[method]``.
        """
        raise ValueError(f"{type(self).__name__} exports no ONNX graph.")

    def _apply(self, method, X, **infer):
        """``method``'s forward on the images ``X`` (a CPU tensor or tuple)."""
        check_is_fitted(self)
        X_t = self._image_batches(X, reset=False)
        return self._infer(self._inference_forward(method), X_t, **infer)

    def _infer(self, forward, X, batch_size=256, pad=False):
        """Apply ``forward`` to NCHW batches of ``X`` without gradients.

        ``X`` is an :class:`~skgalaxy._images.ImageBatches` or a tensor; it is
        converted and moved to the device one batch at a time, so memory is
        bounded by the batch. The module is not touched (it stays in eval
        mode), so concurrent calls are safe. With ``pad``, the last batch is
        padded with zeros to ``batch_size``: kernels pick their algorithm by
        batch size, so only equal batch sizes give bit-identical outputs for
        an image whatever else is in ``X``. Returns the CPU tensor (or tuple
        of tensors) of outputs.
        """
        device = self.net_.device
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(X), batch_size):
                batch = X[start : start + batch_size]
                n = len(batch)
                if pad and n < batch_size:
                    filler = batch.new_zeros((batch_size - n, *batch.shape[1:]))
                    batch = torch.cat([batch, filler])
                out = forward(batch.to(device))
                outputs.append(
                    tuple(o[:n].cpu() for o in out)
                    if isinstance(out, tuple)
                    else out[:n].cpu()
                )
        if outputs and isinstance(outputs[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*outputs))
        return torch.cat(outputs)
