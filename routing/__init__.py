"""The road network: load, snap, drive times from many units to one place, routes with ETAs."""
