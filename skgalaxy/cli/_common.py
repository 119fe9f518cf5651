"""What the sub-commands share: the models they train and how model files load."""

#: ``skgalaxy train`` models: (module, class, needs labels, the step before it).
#: Networks see ArcsinhScaler's output; the morphology statistics, and AHUNT
#: (which hunts on them), the images as observed.
MODELS = {
    "classifier": ("skgalaxy.classification", "GalaxyCNNClassifier", True, "arcsinh"),
    "vae": ("skgalaxy.representation", "FlowVAETransformer", False, "arcsinh"),
    "contrastive": (
        "skgalaxy.representation",
        "ContrastiveTransformer",
        False,
        "arcsinh",
    ),
    "cae": ("skgalaxy.anomaly", "CAEAnomalyDetector", False, "arcsinh"),
    "morphology": ("skgalaxy.morphology", "MorphologyTransformer", False, None),
    "ahunt": ("skgalaxy.anomaly", "AHUNTDetector", True, "morphology"),
}


def build_model(name, **params):
    """The pipeline ``skgalaxy train NAME`` fits: its first step, then the model.

    ``params`` go to the model, those it does not take (``max_epochs`` of the
    morphology statistics) are left out. ``"ahunt"`` is the hunt's default:
    the morphology statistics measured once, then AHUNTDetector on them.
    """
    import importlib

    from sklearn.pipeline import make_pipeline

    module, class_name, _, before = MODELS[name]
    cls = getattr(importlib.import_module(module), class_name)
    accepted = cls().get_params()
    model = cls(**{k: v for k, v in params.items() if k in accepted})
    if before == "arcsinh":
        from ..preprocessing import ArcsinhScaler

        return make_pipeline(ArcsinhScaler(), model)
    if before == "morphology":
        from ..morphology import MorphologyTransformer

        return make_pipeline(MorphologyTransformer(), model)
    return make_pipeline(model)


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
