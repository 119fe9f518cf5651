"""Non-parametric morphology of galaxy images: what astronomers measure by hand."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._images import validate_images
from ._measure import STATISTICS, measure_morphology

__all__ = ["MorphologyTransformer"]


class MorphologyTransformer(TransformerMixin, BaseEstimator):
    """The non-parametric morphology of each galaxy image, as statmorph measures it.

    The statistics that astronomers use to find mergers and disturbed
    galaxies, measured on every image without training: a few interpretable
    numbers per galaxy that a linear model, an outlier detector or
    :class:`~skgalaxy.AHUNTDetector` can use as they are, or beside learnt
    embeddings. Each column named after a published statistic follows its
    published definition as statmorph (Rodriguez-Gomez et al. 2019), the
    field's reference implementation, computes it, so that published cuts
    (e.g. the Gini-M20 merger line) apply.

    Each image is averaged over its channels and the median of its border
    pixels subtracted; the noise is their scaled median absolute deviation.
    Sources are the 8-connected regions of at least 5 pixels above
    ``threshold`` times the noise after a 3x3 boxcar; the galaxy is the one
    holding the brightest pixel of the central quarter (cutouts are centred
    on their galaxy), the others are masked. Then, about the centre of
    rotational symmetry:

    - ``asymmetry``: ``sum|I - I_180| / sum|I|`` within 1.5 Petrosian radii,
      less the sky's (Conselice 2000; Lotz et al. 2004);
      ``outer_asymmetry`` the same outside the half-light ellipse (Wen et
      al. 2014); ``shape_asymmetry`` that of the binary detection mask
      (Pawlik et al. 2016);
    - ``concentration``: ``5 log10(r80 / r20)`` (Bershady et al. 2000);
      ``smoothness``: the flux above its boxcar-smoothed image (clumpiness,
      Lotz et al. 2004);
    - ``gini`` and ``m20`` over the Petrosian segment of Lotz et al. 2004;
      ``gini_m20_merger`` and ``gini_m20_bulge``: the distances from the
      merger and bulge lines (Lotz et al. 2008; Snyder et al. 2015; positive
      above them);
    - ``multimode``, ``intensity`` and ``deviation`` (Freeman et al. 2013;
      Peth et al. 2016): two nuclei of one size, a bright second region and
      a brightest region away from the centroid;
    - ``ellipticity``: ``1 - b/a`` of the flux's second moments;
      ``log_half_light_radius``: log10 of the circular half-light radius, in
      pixels; ``second_peak``: the highest local peak of the 3x3-smoothed
      segment, a few pixels from the brightest, over the brightest (0 for
      one nucleus, near 1 for two of one height);
    - with several channels, ``colour_i_j``: ``-2.5 log10`` of the ratio of
      the segment's flux in channel ``i`` to that in the next channel ``j``.

    The measures are those of linear flux; a stretched image (e.g. by
    :class:`~skgalaxy.ArcsinhScaler`) gives other values, so this transformer
    goes on the images as observed. Every value is finite: where statmorph
    reports a statistic as undefined (e.g. no flux above the sky), the
    column holds its neutral value (0, or the radius of half a pixel).

    Read more in the :ref:`User Guide <morphology>`.

    .. versionchanged:: 0.2
       Each statistic follows statmorph's definition; ``gini_m20_merger``,
       ``gini_m20_bulge``, ``multimode``, ``intensity`` and ``deviation``
       are new, and the columns are in a new order.

    Parameters
    ----------
    threshold : float, default=2.0
        Segmentation threshold, in units of the background noise.
    image_shape : tuple of int (height, width, channels) or None, default=None
        Shape of the images when ``X`` is given flat; see
        :class:`~skgalaxy.ArcsinhScaler`.
    n_jobs : int or None, default=None
        Processes measuring chunks of 256 images side by side: None means 1
        (unless in a :obj:`joblib.parallel_backend` context), -1 every core.
        The statistics are the same whatever the number.

        .. versionadded:: 0.2

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame passed to ``fit``, if it had string names.

    See Also
    --------
    skgalaxy.ContrastiveTransformer : Learnt embeddings of galaxy images.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy import MorphologyTransformer
    >>> yy, xx = np.mgrid[:32, :32]
    >>> disc = np.exp(-np.hypot(yy - 15.5, xx - 15.5) / 3)
    >>> pair = disc + np.exp(-np.hypot(yy - 15.5, xx - 24) / 2)
    >>> X = np.stack([disc, pair])[..., np.newaxis] * 100
    >>> morphology = MorphologyTransformer().fit(X)
    >>> features = morphology.transform(X)
    >>> names = list(morphology.get_feature_names_out())
    >>> asymmetry = features[:, names.index("asymmetry")]
    >>> bool(asymmetry[0] < 0.05 < asymmetry[1])
    True
    """

    _parameter_constraints = {
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "image_shape": [tuple, list, None],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, threshold=2.0, image_shape=None, n_jobs=None):
        self.threshold = threshold
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and remember their shape; nothing is learnt.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images (uint8 or float), linear flux.
        y : None
            Ignored.

        Returns
        -------
        self : MorphologyTransformer
            The fitted transformer.
        """
        validate_images(self, X, reset=True, image_shape=self.image_shape)
        return self

    def transform(self, X):
        """Measure the morphology of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            One row per image, the columns of :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        images = validate_images(self, X, reset=False)
        return measure_morphology(images, self.threshold, self.n_jobs)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the measured statistics.

        Parameters
        ----------
        input_features : None
            Ignored: the statistics do not depend on the input's names.

        Returns
        -------
        feature_names_out : ndarray of str
            The statistics, then a colour per pair of adjacent channels.
        """
        check_is_fitted(self)
        n_channels = self.image_shape_[2]
        colours = [f"colour_{i}_{i + 1}" for i in range(n_channels - 1)]
        return np.asarray([*STATISTICS, *colours], dtype=object)
