"""ONNX export of the estimators' inference graphs.

Each estimator says what it computes (``_inference_forward``); the graph
adds only the input handling the estimator does before its network.
"""

import io


def onnx_methods():
    """``{estimator name: {method: output names}}`` of what can be exported.

    Read from the estimators themselves (their ``_onnx_outputs``); the first
    method of each is what :func:`export_onnx` exports by default.
    """
    import skgalaxy

    classes = {name: getattr(skgalaxy, name) for name in skgalaxy._ESTIMATORS}
    return {
        name: dict(cls._onnx_outputs)
        for name, cls in classes.items()
        if getattr(cls, "_onnx_outputs", None)
    }


def _split_pipeline(estimator):
    """``(ArcsinhScaler step or None, final estimator)``."""
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return None, estimator
    names = [type(step).__name__ for _, step in steps]
    if len(steps) > 2 or (len(steps) == 2 and names[0] != "ArcsinhScaler"):
        raise ValueError(
            "export_onnx takes an estimator or a Pipeline of ArcsinhScaler and "
            f"one estimator, got the steps {names}."
        )
    return (steps[0][1] if len(steps) == 2 else None), steps[-1][1]


def _takes_features(estimator):
    """Whether the estimator's network works on feature vectors (an MLP AHUNT).

    With ``backbone_ == "morphology"`` the features are the
    :class:`~skgalaxy.morphology.MorphologyTransformer` statistics of the
    images: measured outside the graph, standardised inside it.
    """
    return getattr(estimator, "backbone_", None) in ("mlp", "morphology")


def _inference_graph(estimator, method):
    """A torch module computing ``method`` from NHWC float32 images.

    Or from float32 feature vectors, for an estimator that takes them.
    """
    import torch

    scaler, final = _split_pipeline(estimator)
    outputs = getattr(final, "_onnx_outputs", {})
    if method not in outputs:
        raise ValueError(
            f"Cannot export {type(final).__name__}.{method}; exportable: "
            f"{ {k: sorted(v) for k, v in onnx_methods().items()} }."
        )
    forward = final._inference_forward(method)
    features = _takes_features(final)
    if features and scaler is not None:
        raise ValueError("An AHUNTDetector on features exports without a scaler.")

    class InferenceGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = final.net_.module_  # its weights become the graph's
            if features:
                standard = final.scaler_
                self.register_buffer("mean", torch.tensor(standard.mean_).float())
                self.register_buffer("scale", torch.tensor(standard.scale_).float())
                return
            self.register_buffer("input_scale", torch.tensor(float(final.input_scale_)))
            if scaler is not None:
                self.register_buffer(
                    "softening", torch.as_tensor(scaler._softening()).float()
                )
                self.register_buffer(
                    "channel_scale", torch.as_tensor(scaler.scale_, dtype=torch.float32)
                )

        def forward(self, x):
            if features:
                return forward((x - self.mean) / self.scale)
            if scaler is not None:
                x = torch.asinh(x / self.softening) / self.channel_scale
            return forward((x / self.input_scale).permute(0, 3, 1, 2))

    return InferenceGraph().eval(), final, outputs[method]


def export_onnx(estimator, path, method=None):
    """Export the inference graph of a fitted estimator as ONNX.

    The graph takes ``images``: NHWC float32 images (uint8 images cast to
    float32, values unchanged) with any batch size, and applies everything
    the estimator does to them — dividing uint8-fitted models' input by 255,
    an ``ArcsinhScaler`` step of a pipeline, the network, test-time
    augmentation — so its outputs match the estimator's: the network part
    of the graph is the function the estimator's own method runs. An
    :class:`~skgalaxy.anomaly.AHUNTDetector` whose network sees feature
    vectors takes ``features`` instead: float32 rows as given to its ``fit``,
    or, with ``backbone="morphology"`` (its default on images),
    ``MorphologyTransformer().fit_transform(images)`` (standardised inside
    the graph).

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted :class:`~skgalaxy.classification.GalaxyCNNClassifier`,
        :class:`~skgalaxy.representation.FlowVAETransformer`,
        :class:`~skgalaxy.representation.ContrastiveTransformer`,
        :class:`~skgalaxy.anomaly.CAEAnomalyDetector` or
        :class:`~skgalaxy.anomaly.AHUNTDetector` (with a classifier), alone
        or after an ``ArcsinhScaler`` in a Pipeline.
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
    from sklearn.utils.validation import check_is_fitted

    final = _split_pipeline(estimator)[1]
    if method is None:
        method = next(iter(getattr(final, "_onnx_outputs", {"?": None})))
    check_is_fitted(final)
    graph, final, outputs = _inference_graph(estimator, method)
    features = _takes_features(final)
    shape = (final.scaler_.n_features_in_,) if features else final.image_shape_
    example = torch.zeros((2, *shape), dtype=torch.float32)
    name = "features" if features else "images"
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
            input_names=[name],
            output_names=outputs,
            dynamic_shapes={"x": {0: batch}},
            dynamo=True,
            verbose=False,
        )
    return outputs
