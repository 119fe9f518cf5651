"""Model selection on a Dask cluster through joblib's "dask" backend."""

import numpy as np
import pytest
from conftest import TINY
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler
from skgalaxy.datasets import make_galaxies

distributed = pytest.importorskip("distributed")


def test_grid_search_on_a_local_dask_cluster_matches_the_local_run():
    X, y = make_galaxies(
        48, image_size=16, classes=[0, 2, 8], random_state=0, return_X_y=True
    )

    def search():
        pipe = make_pipeline(
            ArcsinhScaler(),
            TINY["clf"](filters=(4, 8), dense_units=8, max_epochs=2),
        )
        grid = {"galaxycnnclassifier__dropout": [0.0, 0.5]}
        return GridSearchCV(pipe, grid, cv=2, n_jobs=-1)

    local = search().fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with parallel_backend("dask"):
            remote = search().fit(X, y)
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
