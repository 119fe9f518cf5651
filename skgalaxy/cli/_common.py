"""What the sub-commands share: the models they train and how model files load."""

MODELS = {
    "classifier": ("skgalaxy.classification", "GalaxyCNNClassifier", True),
    "vae": ("skgalaxy.representation", "FlowVAETransformer", False),
    "cae": ("skgalaxy.anomaly", "CAEAnomalyDetector", False),
    "ahunt": ("skgalaxy.anomaly", "AHUNTDetector", True),
}


def _load_labelled(path, need_labels):
    from ..datasets import load_images

    data = load_images(path)
    if need_labels and data.target is None:
        raise ValueError(f"{path} has no labels; this model needs them.")
    return data


def _save(model, path):
    """Save in the safe format, or with joblib for a ``.joblib``/``.pkl`` path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".joblib", ".pkl"):
        import joblib

        joblib.dump(model, path)
    else:
        from ..io import save_model

        save_model(model, path)


def _load(path):
    """A model from the safe format, or from joblib for a ``.joblib``/``.pkl`` path.

    A joblib file is a program: the commands' help says to load only files
    from people you trust.
    """
    if not path.is_file():
        raise FileNotFoundError(f"No model file {path}")
    if path.suffix.lower() in (".joblib", ".pkl"):
        import joblib

        try:
            return joblib.load(path)
        except Exception as exc:
            raise ValueError(f"{path} is not a joblib model file: {exc}") from exc
    from ..io import load_model

    return load_model(path)
