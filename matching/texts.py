"""Canonical texts: one per profile and per post, built from their fields, and hashed.

The hash decides whether a stored embedding is still valid: only a changed text is re-encoded. The order of
parts puts what identifies a person or a need first (headline, skills), because sentence encoders truncate
long inputs (all-MiniLM-L6-v2 reads 256 word pieces).
"""

from __future__ import annotations

import hashlib
import re

from diaspora.matching.documents import PostDocument, ProfileDocument

TEXT_VERSION = "v1"  # bump when the recipe changes, so every stored embedding is refreshed
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _sentence(text: str) -> str:
    text = _clean(text)
    return text if not text or text[-1] in ".!?" else text + "."


def profile_text(profile: ProfileDocument) -> str:
    """The text the encoder sees for a profile."""
    parts = [_sentence(profile.headline)]
    if profile.skills:
        parts.append(_sentence("Skills: " + ", ".join(_clean(s.name) for s in profile.skills)))
    if profile.sectors:
        parts.append(_sentence("Sectors: " + ", ".join(profile.sectors)))
    parts.append(_sentence(profile.summary))
    return " ".join(p for p in parts if p)


def post_text(post: PostDocument) -> str:
    """The text the encoder sees for a post."""
    parts = [_sentence(post.title)]
    if post.required_skills:
        parts.append(_sentence("Required skills: " + ", ".join(_clean(s.name) for s in post.required_skills)))
    if post.nice_to_have_skills:
        parts.append(_sentence("Also useful: " + ", ".join(_clean(s.name) for s in post.nice_to_have_skills)))
    parts.append(_sentence(post.description))
    return " ".join(p for p in parts if p)


def text_hash(text: str) -> str:
    """A stable digest of a canonical text and the recipe version that produced it."""
    return hashlib.sha256(f"{TEXT_VERSION}\n{text}".encode()).hexdigest()
