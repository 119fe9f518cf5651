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


@pytest.mark.parametrize("n_workers", [1, 2])
def test_local_client_shares_the_cores_among_its_workers(n_workers):
    import os

    from skgalaxy.scoring import local_client

    def torch_threads():
        import dask
        import torch

        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
        assert dask.config.get("distributed.worker.profile.enabled") is False
        return torch.get_num_threads()

    environ = dict(os.environ)
    with local_client(n_workers) as client:
        workers = client.scheduler_info()["workers"]
        in_tasks = client.gather(
            [client.submit(torch_threads, pure=False, workers=[w]) for w in workers]
        )
    assert len(workers) == n_workers
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert [worker["nthreads"] for worker in workers.values()] == [1] * n_workers
    # dask's own default would be one torch thread per worker
    assert in_tasks == [max(1, os.cpu_count() // n_workers)] * n_workers
    assert client.status == "closed"
    assert dict(os.environ) == environ  # this process's threads are left alone


@pytest.mark.parametrize("n_workers", [0, -1, 1.5, "2"])
def test_local_client_refuses_a_bad_number_of_workers(n_workers):
    from skgalaxy.scoring import local_client

    with pytest.raises(ValueError, match="n_workers"):
        with local_client(n_workers):
            pass
