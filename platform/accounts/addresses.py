"""Email addresses as the platform compares them."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from diaspora.platform.core.errors import ValidationError


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError(f"`email` is not a valid address: {exc}", field="email") from exc
