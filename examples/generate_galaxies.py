"""Generate galaxies
=================

A VAE with a normalizing-flow prior learns the images; ``sample`` draws new
galaxies from Gaussian noise pushed through the flow and the decoder. The
figure shows real images above generated ones.

Run it with ``python examples/generate_galaxies.py`` (``SKGALAXY_FAST=1`` for
a quick run).
"""

from _config import size

from skgalaxy import ArcsinhScaler, FlowVAETransformer
from skgalaxy.datasets import make_galaxies
from skgalaxy.plotting import plot_image_rows

images = make_galaxies(size(3000, 100), image_size=size(64, 32), random_state=0).images
scaler = ArcsinhScaler().fit(images)
vae = FlowVAETransformer(n_components=16, max_epochs=size(20, 1), random_state=0)
vae.fit(scaler.transform(images))

samples = vae.sample(8, random_state=1)  # base Gaussian -> flow -> decoder
elbo = vae.score(scaler.transform(images))
print(f"samples: {samples.shape}, mean ELBO of the data {elbo:.1f} nats")
plot_image_rows({"data": scaler.transform(images[:8]), "generated": samples})
