from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.scripts import has_cyrillic, to_cyrillic, to_latin
from diaspora.platform.db.models import PostSkill, TaxonomyConcept


class SkillSuggestion(msgspec.Struct):
    uri: str  # empty for a skill that posts ask for but the taxonomy does not hold
    label: str


class SkillSuggestions(msgspec.Struct):
    items: list[SkillSuggestion]


class TaxonomyController(Controller):
    path = "/api/taxonomy"
    tags = ["taxonomy"]

    @get("/skills", summary="Skills of the taxonomy whose label contains the text (suggestions as you type)")
    async def skills(
        self,
        db_session: NamedDependency[AsyncSession],
        q: Annotated[str, QueryParameter(min_length=2, max_length=100)],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    ) -> SkillSuggestions:
        # Typed in either script, found in either: "ангиограф" finds "angiografija" and the other way.
        typed = q.strip().lower()
        needles = list(
            dict.fromkeys((typed, to_latin(typed), to_cyrillic(typed) if not has_cyrillic(typed) else typed))
        )
        label = func.lower(TaxonomyConcept.preferred_label)
        rows = await db_session.execute(
            select(TaxonomyConcept.uri, TaxonomyConcept.preferred_label)
            .where(
                TaxonomyConcept.kind == "skill", or_(*(label.contains(n, autoescape=True) for n in needles))
            )
            .order_by(
                case((or_(*(label.startswith(n, autoescape=True) for n in needles)), 0), else_=1),
                func.length(label),
                label,
            )
            .limit(limit)
        )
        items = [SkillSuggestion(uri, text) for uri, text in rows.all()]
        if len(items) < limit:
            # Without (enough of) a taxonomy, the skills organisations ask for are good suggestions too.
            name = func.lower(PostSkill.name)
            asked = await db_session.scalars(
                select(PostSkill.name)
                .where(or_(*(name.contains(n, autoescape=True) for n in needles)))
                .group_by(PostSkill.name)
                .order_by(func.count().desc(), PostSkill.name)
                .limit(limit - len(items))
            )
            known = {i.label.casefold() for i in items}
            items += [SkillSuggestion("", n) for n in asked.all() if n.casefold() not in known]
        return SkillSuggestions(items)
