// What the dispatcher chose to see: agencies, an incident kind and a status, applied alike to the
// incident queue, the incidents on the map, the fleet on the map and the unit board.
//   agency: an incident shows when one of its tasks is a chosen agency's; a unit when its own is.
//   kind:   an incident of that kind; a unit working on an incident of that kind.
//   status: one phase, read off each incident's or unit's own status (PHASES below).
"use strict";

const PHASES = {
  waiting: { label: "phaseWaiting", incident: ["open"], unit: ["available"] },
  responding: { label: "phaseResponding", incident: ["dispatched"], unit: ["dispatched", "en_route"] },
  on_scene: { label: "phaseOnScene", incident: ["on_scene"], unit: ["on_scene"] },
  after_scene: { label: "phaseAfter", incident: [], unit: ["transporting", "at_hospital", "returning"] },
  out_of_service: { label: "phaseOut", incident: [], unit: ["out_of_service"] },
};

class ConsoleFilters {
  constructor(incidents) {
    this.incidents = incidents; // id -> incident, to know the kind a unit is working on
    this.agencies = new Set(["110", "119", "120", "122"]);
    this.kind = "";
    this.phase = "";
  }

  incidentShown(inc) {
    if (!inc) return false;
    const agencies = Object.keys(inc.tasks || {});
    if (agencies.length && !agencies.some((a) => this.agencies.has(a))) return false;
    if (this.kind && inc.kind !== this.kind) return false;
    return !this.phase || PHASES[this.phase].incident.includes(inc.status);
  }

  unitShown(u) {
    if (!u || !this.agencies.has(u.agency)) return false;
    if (this.kind) {
      const inc = u.incident_id && this.incidents.get(u.incident_id);
      if (!inc || inc.kind !== this.kind) return false;
    }
    return !this.phase || PHASES[this.phase].unit.includes(u.status);
  }
}
