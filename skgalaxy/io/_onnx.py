"""ONNX export of the estimators' inference graphs."""

import io

#: What :func:`export_onnx` can export, per estimator: method -> output names.
ONNX_METHODS = {
    "GalaxyCNNClassifier": {"predict_proba": ["proba"], "transform": ["embedding"]},
    "FlowVAETransformer": {"transform": ["embedding"]},
    "ContrastiveTransformer": {"transform": ["embedding"]},
    "CAEAnomalyDetector": {
        "transform": ["codes"],
        "score_terms": ["mse", "smoothed", "codes"],
    },
    "AHUNTDetector": {"predict_proba": ["proba"]},
}


def _inference_graph(estimator, method):
    """A torch module computing ``method`` from NHWC float32 images."""
    import torch

    from ..nn.augment import dihedral, dihedral_transforms
    from ..nn.functional import gaussian_blur

    steps = getattr(estimator, "steps", None)
    scaler = None
    if steps is not None:
        names = [type(step).__name__ for _, step in steps]
        if len(steps) > 2 or (len(steps) == 2 and names[0] != "ArcsinhScaler"):
            raise ValueError(
                "export_onnx takes an estimator or a Pipeline of ArcsinhScaler and "
                f"one estimator, got the steps {names}."
            )
        scaler = steps[0][1] if len(steps) == 2 else None
        estimator = steps[-1][1]
    name = type(estimator).__name__
    if name not in ONNX_METHODS or method not in ONNX_METHODS[name]:
        known = {k: sorted(v) for k, v in ONNX_METHODS.items()}
        raise ValueError(f"Cannot export {name}.{method}; exportable: {known}.")
    if name == "AHUNTDetector" and (
        estimator.net_ is None or estimator.backbone_ == "mlp"
    ):
        raise ValueError(
            "Only an AHUNTDetector with a trained CNN (on images) exports."
        )
    module = estimator.net_.module_
    height, width = estimator.image_shape_[:2]
    transforms = dihedral_transforms(height == width, getattr(estimator, "flips", True))

    class InferenceGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module
            self.register_buffer(
                "input_scale", torch.tensor(float(estimator.input_scale_))
            )
            if scaler is not None:
                self.register_buffer("softening", torch.tensor(float(scaler.softening)))
                self.register_buffer(
                    "channel_scale", torch.as_tensor(scaler.scale_, dtype=torch.float32)
                )

        def forward(self, images):
            x = images
            if scaler is not None:
                x = torch.asinh(x / self.softening) / self.channel_scale
            x = (x / self.input_scale).permute(0, 3, 1, 2)
            if name == "GalaxyCNNClassifier" and method == "predict_proba":
                turns = transforms if estimator.tta else [0]
                proba = sum(self.module(dihedral(x, k)).softmax(dim=1) for k in turns)
                return proba / proba.sum(dim=1, keepdim=True)
            if name == "AHUNTDetector":
                return self.module(x).softmax(dim=1)
            if name == "GalaxyCNNClassifier":
                return self.module.embed(x)
            if name == "FlowVAETransformer":
                return self.module.encode(x)[0]
            if name == "ContrastiveTransformer":
                return self.module.encode(x)
            codes = self.module.encode(x)
            if method == "transform":
                return codes
            residual = x - self.module.decode(codes)
            smoothed = gaussian_blur(residual, estimator.smoothing)
            return (
                (residual**2).mean(dim=(1, 2, 3)),
                (smoothed**2).mean(dim=(1, 2, 3)),
                codes,
            )

    return InferenceGraph().eval(), estimator, ONNX_METHODS[name][method]


def export_onnx(estimator, path, method=None):
    """Export the inference graph of a fitted estimator as ONNX.

    The graph takes ``images``: NHWC float32 images (uint8 images cast to
    float32, values unchanged) with any batch size, and applies everything
    the estimator does to them — dividing uint8-fitted models' input by 255,
    an ``ArcsinhScaler`` step of a pipeline, the network, test-time
    augmentation — so its outputs match the estimator's.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted :class:`~skgalaxy.classification.GalaxyCNNClassifier`,
        :class:`~skgalaxy.representation.FlowVAETransformer`,
        :class:`~skgalaxy.anomaly.CAEAnomalyDetector` or CNN
        :class:`~skgalaxy.anomaly.AHUNTDetector`, alone or after an
        ``ArcsinhScaler`` in a Pipeline.
    path : str or path-like
        The ``.onnx`` file to write.
    method : str or None, default=None
        What the graph computes: ``"predict_proba"`` (classifier, AHUNT;
        the default for them), ``"transform"`` (embeddings, codes; the
        default for the VAE) or ``"score_terms"`` (the CAE's default: the
        per-image ``mse`` and ``smoothed`` residuals and the ``codes`` from
        which :meth:`~skgalaxy.anomaly.CAEAnomalyDetector.score_samples`
        combines its measure).

    Returns
    -------
    outputs : list of str
        The names of the graph's outputs.

    Examples
    --------
    >>> from skgalaxy.io import export_onnx
    >>> export_onnx(classifier, "classifier.onnx")  # doctest: +SKIP
    ['proba']
    """
    import contextlib
    import warnings

    import torch

    final = getattr(estimator, "steps", [[None, estimator]])[-1][1]
    if method is None:
        method = next(iter(ONNX_METHODS.get(type(final).__name__, {"?": None})))
        if type(final).__name__ == "CAEAnomalyDetector":
            method = "score_terms"
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(final)
    graph, final, outputs = _inference_graph(estimator, method)
    example = torch.zeros((2, *final.image_shape_), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1)
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        torch.inference_mode(False),
    ):
        warnings.simplefilter("ignore", FutureWarning)  # from torch's exporter
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=["images"],
            output_names=outputs,
            dynamic_shapes={"images": {0: batch}},
            dynamo=True,
            verbose=False,
        )
    return outputs
