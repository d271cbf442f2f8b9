"""A lead centre that goes dark, in a live server: consoles are counted across nodes by agency,
and when the day's lead centre has none for the set time the lead passes to a centre that has
one; the screens are told and the roster says who leads and why."""

import json
import time

from fastapi.testclient import TestClient

from tests.web.conftest import key_maker
from web.api_keys import Role
from web.app import create_app

ROTATION = ("120", "119", "110")


def test_a_dark_lead_centre_hands_the_lead_to_a_centre_with_a_console(settings, small_city) -> None:
    quick = settings.model_copy(update={"lead_dark_after_s": 1.5})
    with TestClient(create_app(quick, network=small_city)) as c:
        make = key_maker(c)  # no key on the client itself: each socket is who its key says
        sup = {"Authorization": f"Bearer {make('120', Role.SUPERVISOR)}"}
        lead = c.get("/v1/roster", headers=sup).json()["lead"]
        after = ROTATION[(ROTATION.index(lead) + 1) % 3]  # the next in the rotation is dark too
        other = ROTATION[(ROTATION.index(lead) + 2) % 3]
        console = make(other, Role.DISPATCHER, client_id="desk")
        # the lead's and the next centre's trainers watch the live map: not a centre's console
        trainers = [make(a, Role.TRAINER, client_id=f"trainer-{a}") for a in (lead, after)]
        with c.websocket_connect(f"/v1/live?key={trainers[0]}"), \
                c.websocket_connect(f"/v1/live?key={trainers[1]}"), \
                c.websocket_connect(f"/v1/live?key={console}") as ws:
            deadline = time.monotonic() + 20
            handed = None
            while handed is None and time.monotonic() < deadline:
                msg = json.loads(ws.receive_text())
                if msg["type"] == "event" and msg["event"]["type"] == "lead_handed_over":
                    handed = msg["event"]
            assert handed is not None, "the lead never moved"
            assert (handed["from_agency"], handed["to_agency"]) == (lead, other)
            assert f"no {lead} console live" in handed["reason"] and handed["told"]
            roster = c.get("/v1/roster", headers=sup).json()
            assert roster["lead"] == other and roster["lead_reason"] == handed["reason"]
            assert roster["duties"][other]["convener"]["name"] == handed["told"]
