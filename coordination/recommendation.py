"""Which units to send and which hospital to take a patient to, from where units are now.

The same recommendation answers the dispatcher's screen, the whistle's one click and the
replay's dispatchers: the pure ranking of dispatch.recommend over drive times from the router."""

from dataclasses import dataclass

from coordination.whereabouts import Whereabouts
from dispatch.fleet import HOSPITAL_NEEDS, Fleet, Hospital
from dispatch.recommend import Need, drive_times_to, recommend, units_to_rank
from dispatch.rejection import Rejected
from dispatch.router import LonLat, Router
from dispatch.service import DispatchService


@dataclass(frozen=True)
class HospitalChoice:
    hospital: Hospital
    needed: str  # what the patient's kind needs: trauma, burns, general...
    eta_s: float

    def view(self) -> dict[str, object]:
        h = self.hospital
        return {"hospital_id": h.hospital_id, "name": h.name, "takes": sorted(h.takes),
                "needed": self.needed, "eta_s": round(self.eta_s, 1)}


class Recommender:
    def __init__(self, service: DispatchService, router: Router, whereabouts: Whereabouts, fleet: Fleet,
                 stale_after_s: float = 60.0) -> None:
        self.service, self.router, self.whereabouts = service, router, whereabouts
        self.fleet, self.stale_after_s = fleet, stale_after_s

    async def units_for(self, incident_id: str, exclude: frozenset[str] = frozenset()) -> list[Need]:
        """Per need of the incident, the fastest capable units by road, best first."""
        state = self.service.state
        inc = state.incidents.get(incident_id)
        if inc is None:
            raise Rejected(404, "incident_id", f"no incident {incident_id}")
        if inc.lon is None or inc.lat is None:
            raise Rejected(409, "incident_id", f"{incident_id} has no coordinates to route to yet")
        plans = self.service.rules.plans
        units = [u for u in units_to_rank(state, inc, plans) if u.unit_id not in exclude]
        ids = [u.unit_id for u in units]
        fixes = await self.whereabouts.fixes(ids)
        eta = drive_times_to(inc, units, await self.whereabouts.places(ids), self.router)
        return recommend(state, inc, plans, eta, fixes, self.service.clock.now(), self.stale_after_s)

    def hospital_for(self, kind: str, place: LonLat) -> HospitalChoice | None:
        """The nearest hospital by road that takes what a patient of this kind needs."""
        found = self.fleet.hospital_for(kind, place, self.router)
        if found is None:
            return None
        hospital, eta = found
        return HospitalChoice(hospital, HOSPITAL_NEEDS.get(kind, "general"), eta)

    def hospital_for_incident(self, incident_id: str) -> HospitalChoice | None:
        inc = self.service.state.incidents[incident_id]
        if "120" not in inc.tasks or inc.lon is None or inc.lat is None:
            return None
        return self.hospital_for(inc.kind, (inc.lon, inc.lat))
