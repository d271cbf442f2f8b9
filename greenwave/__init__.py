"""Green wave: from a unit's route to a corridor of signal priority requests, the controller
gateways that carry them (in-process simulated controller, HTTP controller service), arbitration
between conflicting requests at one junction, and release as the unit passes."""
