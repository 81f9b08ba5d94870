"""From ORM rows to the matcher's plain documents."""

from __future__ import annotations

from diaspora.matching.documents import PostDocument, ProfileDocument, Skill, Window
from diaspora.platform.db.models import Post, PostStatus, Profile


def profile_document(profile: Profile) -> ProfileDocument:
    return ProfileDocument(
        id=str(profile.id),
        headline=profile.headline,
        summary=profile.summary,
        skills=tuple(Skill(s.name, s.taxonomy_id) for s in profile.skills),
        languages=tuple(lang.code for lang in profile.languages),
        sectors=tuple(profile.sectors),
        availability=tuple(Window(w.start_date, w.end_date, tuple(w.modes)) for w in profile.availability),
        open_to_matching=bool(profile.consent and profile.consent.open_to_matching),
        occupation_uri=profile.occupation_uri,
    )


def post_document(post: Post) -> PostDocument:
    return PostDocument(
        id=str(post.id),
        title=post.title,
        description=post.description,
        required_skills=tuple(Skill(s.name, s.taxonomy_id) for s in post.skills if s.required),
        nice_to_have_skills=tuple(Skill(s.name, s.taxonomy_id) for s in post.skills if not s.required),
        languages=tuple(post.languages),
        start=post.start_date,
        end=post.end_date,
        work_mode=post.mode,
        compensation=post.compensation,
        live=post.status == PostStatus.OPEN.value and bool(post.organisation.verified),
    )
