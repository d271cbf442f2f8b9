"""Address text as callers give it, folded so two spellings of one place compare equal."""


def normalise_address(text: str | None) -> str:
    return " ".join((text or "").lower().replace(",", " ").split())
