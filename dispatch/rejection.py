"""The one way a decision says no: which field, why, and the HTTP-like code the edge answers."""


class Rejected(Exception):
    """A command the state does not allow. `code` maps to HTTP at the edge: 403, 404, 409 or 422."""

    def __init__(self, code: int, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message
