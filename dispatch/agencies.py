"""The agencies that take part in joint response and the hotlines that reach them."""

from enum import StrEnum


class Agency(StrEnum):
    """An agency is named by its hotline number, as control rooms name each other."""

    POLICE = "110"
    FIRE = "119"
    MEDICAL = "120"
    TRAFFIC = "122"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Agency.POLICE: "police",
    Agency.FIRE: "fire",
    Agency.MEDICAL: "medical",
    Agency.TRAFFIC: "traffic police",
}

# The centres allowed to blow the whistle without being the day's lead agency.
WHISTLE_CENTRES = frozenset({Agency.MEDICAL, Agency.FIRE})
