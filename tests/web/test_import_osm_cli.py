"""`jointdispatch import-osm`: what the import kept and dropped is printed, and the network it caches
starts a router under either bus-lane rule."""

from pathlib import Path

from typer.testing import CliRunner

from coordination.road_router import RoadRouter
from routing import access
from routing.cache import SUFFIX, load_cached
from web.cli import app
from web.settings import Settings

EXTRACT = Path(__file__).parents[1] / "routing" / "data" / "access.osm"


def test_import_prints_the_report_and_the_cache_serves_both_bus_lane_rules(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import-osm", str(EXTRACT), "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ways dropped:" in result.output and "turn restrictions:" in result.output
    net = load_cached(tmp_path / f"access{SUFFIX}")
    lenient = RoadRouter(net)
    strict = RoadRouter(net, emergency_bus_lanes=Settings(emergency_bus_lanes=False).emergency_bus_lanes)
    busway = [i for i, c in enumerate(lenient.index.classes) if c == "busway"]
    assert busway, "the extract has a busway"
    assert all(lenient.index.level["ambulance"][i] == access.YES for i in busway)
    assert all(strict.index.level["ambulance"][i] == access.NO for i in busway)


def test_the_setting_defaults_to_the_chinese_rule(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert Settings().emergency_bus_lanes is True
    monkeypatch.setenv("JD_EMERGENCY_BUS_LANES", "false")
    assert Settings().emergency_bus_lanes is False
