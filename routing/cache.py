"""The imported-network cache: build from an extract once, start the server from it in seconds."""

import pickle
from pathlib import Path

from routing.network import RoadNetwork
from routing.osm import load_osm

SUFFIX = ".network.pickle"


def import_osm(path: Path | str, cache_dir: Path | str) -> Path:
    network = load_osm(path)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / (Path(path).name.split(".")[0] + SUFFIX)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(network.graph, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(out)  # never leave a half-written cache behind
    return out


def load_cached(path: Path | str) -> RoadNetwork:
    # Only caches this program wrote are loaded: pickle trusts its input.
    with open(path, "rb") as f:
        graph = pickle.load(f)
    return RoadNetwork(graph, name=Path(path).name.removesuffix(SUFFIX))
