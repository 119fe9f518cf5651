"""``skgalaxy fetch``: download and cache a data set."""


def run(args):
    """Run ``skgalaxy fetch``."""
    from ..datasets import fetch_galaxy10

    data = fetch_galaxy10(
        args.variant, data_home=args.data_home, url=args.url, sha256=args.sha256
    )
    print(
        f"Galaxy10 {args.variant}: {len(data.images)} images of shape "
        f"{data.images.shape[1:]}, {len(data.target_names)} classes"
    )
    return 0


def add_parser(commands):
    """Add the ``fetch`` sub-command to ``commands``."""
    fetch = commands.add_parser("fetch", help="download and cache a data set")
    fetch.add_argument("dataset", choices=["galaxy10"])
    fetch.add_argument("--variant", choices=["decals", "sdss"], default="decals")
    fetch.add_argument("--data-home", default=None, help="cache folder")
    fetch.add_argument("--url", default=None, help="a mirror of the file")
    fetch.add_argument("--sha256", default=None, help="checksum for --url")
    fetch.set_defaults(handler=run)
