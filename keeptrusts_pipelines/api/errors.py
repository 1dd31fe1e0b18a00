"""Errors of the HTTP door: JSON `{error, field, message}`, never a stack trace."""

from __future__ import annotations

from fastapi.responses import JSONResponse

# The `error` word of each status.
ERROR_WORDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
}


class ApiError(Exception):
    """A request refused: its HTTP status, the field at fault (if one) and the fix."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def error_response(
    status: int, message: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    body = {"error": ERROR_WORDS.get(status, "error"), "field": field, "message": message}
    return JSONResponse(body, status_code=status, headers=headers)
