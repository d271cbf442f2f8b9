"""Who may read which sensitive field of a call or a resident's record: the one table, applied
wherever either leaves the server (call and incident views, feeds, webhooks, the live map's event
records, the home-alarm register and alarms).

A call record is any dict with the call's `hotline`, `caller_number` and `details` (the API's
call view and the log's `call_received` event both are). What a viewer may not read is masked
(caller numbers keep their last four digits, enough to tell two callers apart) or removed. What
a viewer did read is returned, so the caller can write it to the audit log.

A resident's record of the home-alarm register has the same shape: its care plan is in
`details.care` (medical), and `assigned_responders` names the community responders sent to the
home, who may read it too; that list is the rule's input and is not shown."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from web.api_keys import ApiKey, Role

DETAIL_FIELDS_FILE = Path(__file__).with_name("detail_fields.yaml")


@dataclass(frozen=True)
class DetailFields:
    """The declared schema of `details`: per kind (and for all kinds), which keys are medical
    and which are open whatever their words say."""

    medical: dict[str, frozenset[str]]  # kind -> medical keys; "" for every kind
    open: dict[str, frozenset[str]]

    @classmethod
    def load(cls, path: Path = DETAIL_FIELDS_FILE) -> "DetailFields":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        sections = {"": raw.get("all_kinds") or {}, **(raw.get("kinds") or {})}
        return cls({k: frozenset(map(str, v.get("medical") or ())) for k, v in sections.items()},
                   {k: frozenset(map(str, v.get("open") or ())) for k, v in sections.items()})

    def is_medical(self, key: str, kind: str) -> bool:
        if key in self.medical[""] or key in self.medical.get(kind, ()):
            return True
        if key in self.open[""] or key in self.open.get(kind, ()):
            return False
        return is_medical_key(key)  # undeclared: by its words, until someone declares it


DETAILS = DetailFields.load()
MEDICAL_DETAILS = tuple(sorted(DETAILS.medical[""]))
# Any undeclared details key that names health, in whatever words an intake form uses: a list of
# exact keys let `diagnosis` reach 110. A key is medical if one of its words (split on _ - . and
# spaces) is one of these, or starts with one of the stems.
MEDICAL_WORDS = frozenset({
    "patient", "medical", "diagnosis", "condition", "symptom", "symptoms", "injury", "injuries",
    "medication", "medications", "medicine", "drug", "drugs", "allergy", "allergies", "pulse",
    "blood", "pressure", "heart", "respiration", "breathing", "conscious", "unconscious",
    "pregnancy", "pregnant", "disease", "illness", "dementia", "disability", "psychiatric",
    "mental", "health", "care", "treatment", "history", "vitals", "glucose", "oxygen", "spo2",
    "病情", "诊断", "用药", "过敏", "病史", "伤情", "症状",
})
MEDICAL_STEMS = ("diagnos", "medic", "symptom", "allerg", "patholog", "cardi", "psych")
POLICE_DETAILS = ("police_notes",)


@dataclass(frozen=True)
class FieldRule:
    name: str
    fields: tuple[str, ...]  # `caller_number`, or `details.KEY` inside the call's details
    sees: Callable[[ApiKey, dict[str, Any]], bool]  # (viewer, the record) -> may read
    otherwise: Literal["mask", "remove"]
    who: str  # said in the API docs and the README
    # other details keys the rule also covers: (key, the record's kind) -> covered
    covers_detail: Callable[[str, str], bool] | None = None

    def paths(self, details: dict[str, Any], kind: str = "") -> list[str]:
        extra = [f"details.{k}" for k in details
                 if self.covers_detail is not None and f"details.{k}" not in self.fields
                 and self.covers_detail(str(k), kind)]
        return [*self.fields, *extra]


def is_medical_key(key: str) -> bool:
    words = [w for w in re.split(r"[\s_.\-]+", key.lower()) if w]
    return any(w in MEDICAL_WORDS or w.startswith(MEDICAL_STEMS) for w in words) or any(
        w in key for w in MEDICAL_WORDS if not w.isascii())


def sees_medical(viewer: ApiKey, record: dict[str, Any]) -> bool:
    if viewer.agency == "120" or Role.SUPERVISOR in viewer.roles:
        return True
    return viewer.responder_id is not None and Role.COMMUNITY_RESPONDER in viewer.roles \
        and viewer.responder_id in (record.get("assigned_responders") or ())


FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule("medical", tuple(f"details.{k}" for k in MEDICAL_DETAILS), sees_medical, "remove",
              "120 (medical), supervisors and the community responder sent to the home",
              covers_detail=DETAILS.is_medical),
    FieldRule("caller_number", ("caller_number",),
              lambda v, record: v.agency == str(record.get("hotline", "")), "mask",
              "the hotline that took the call"),
    FieldRule("police_notes", tuple(f"details.{k}" for k in POLICE_DETAILS),
              lambda v, _record: v.agency == "110", "remove", "110 (police)"),
)


def mask_number(number: str) -> str:
    digits = [c for c in number if c.isdigit()]
    return "*" * max(0, len(digits) - 4) + "".join(digits[-4:])


def disclose(call: dict[str, Any], viewer: ApiKey) -> tuple[dict[str, Any], list[str]]:
    """The call as this viewer may see it, and the sensitive fields it reveals to them."""
    out = dict(call)
    details = dict(out.get("details") or {})
    revealed: list[str] = []
    for rule in FIELD_RULES:
        allowed = rule.sees(viewer, call)
        for path in rule.paths(details, str(call.get("kind") or "")):
            container, key = (details, path[8:]) if path.startswith("details.") else (out, path)
            if container.get(key) is None:
                continue
            if allowed:
                revealed.append(path)
            elif rule.otherwise == "mask":
                container[key] = mask_number(str(container[key]))
            else:
                del container[key]
    if "details" in out:
        out["details"] = details
    out.pop("assigned_responders", None)
    return out, revealed
