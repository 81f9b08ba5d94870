"""What the demo's members did beyond their profiles: pledges to invest, answers to consultations, and a
finished campaign whose placements left outcomes and stories. Each part draws from a generator of its own,
so adding one leaves the rest of the demo as it was for a seed."""

from __future__ import annotations

import random
from datetime import date, timedelta

from diaspora.matching.languages import identify
from diaspora.matching.scripts import fold
from diaspora.platform.db.models import (
    Account,
    Campaign,
    CampaignMatch,
    CampaignPost,
    Consultation,
    ConsultationResponse,
    ConsultationStatus,
    Opportunity,
    Organisation,
    Pledge,
    Post,
    Profile,
    Story,
    StoryStatus,
    new_id,
    utcnow,
)


def pledges(rng: random.Random, opportunities: list[Opportunity], profiles: list[Profile]) -> list[Pledge]:
    """A quarter of the members pledge to one or two published investments; a third of those seek partner
    firms, where some members answer as their firm. Its own generator: the rest of the demo stays put."""
    investments = [o for o in opportunities if o.kind == "investment" and o.published_at is not None]
    for opportunity in investments:
        opportunity.seeking_partners = rng.random() < 0.33
    pledges = []
    bands = ("under_10k", "under_10k", "10k_50k", "10k_50k", "50k_250k", "250k_1m", "over_1m")
    for profile in profiles:
        if not investments or rng.random() >= 0.25:
            continue
        for opportunity in rng.sample(investments, k=min(len(investments), rng.choice((1, 1, 2)))):
            firm = None
            if opportunity.seeking_partners and rng.random() < 0.3:
                firm = f"{profile.headline.split(' in ')[0]} Consulting"[:200]
            pledges.append(
                Pledge(
                    opportunity_id=opportunity.id,
                    profile_id=profile.id,
                    band=rng.choice(bands),
                    horizon=rng.choice(("6_months", "1_year", "1_year", "3_years")),
                    share_contact=rng.random() < 0.5,
                    firm=firm,
                )
            )
    return pledges


# The consultations of the demo: who asks, what, and in which state (the ministry's closes in three weeks).
DEMO_CONSULTATIONS: tuple[tuple[str, str, str, list[dict[str, object]]], ...] = (
    (
        "ministry",
        ConsultationStatus.OPEN.value,
        "Coming back for a while: what would it take?",
        [
            {
                "kind": "single",
                "prompt": "Would you come back for a short assignment in the next two years?",
                "options": ["Yes", "Maybe", "No"],
                "required": True,
            },
            {
                "kind": "multiple",
                "prompt": "What holds you back?",
                "options": ["Pay", "Family", "Paperwork", "Housing", "Nothing"],
            },
            {"kind": "scale", "prompt": "How much do you trust public institutions at home?", "scale_max": 5},
            {"kind": "text", "prompt": "What should the ministry do first?"},
        ],
    ),
    (
        "admin",
        ConsultationStatus.OPEN.value,
        "How can this platform serve you better?",
        [
            {
                "kind": "scale",
                "prompt": "How useful are the posts suggested to you?",
                "scale_max": 5,
                "required": True,
            },
            {
                "kind": "multiple",
                "prompt": "What would you use most?",
                "options": ["Short missions", "Remote work", "Mentoring", "Investing"],
            },
            {"kind": "text", "prompt": "What is missing?"},
        ],
    ),
    (
        "ministry",
        ConsultationStatus.DRAFT.value,
        "Investing at home",
        [
            {
                "kind": "single",
                "prompt": "Have you invested in your home country?",
                "options": ["Yes", "Not yet", "No"],
                "required": True,
            },
            {"kind": "text", "prompt": "What would make you invest?"},
        ],
    ),
)
DEMO_TEXT_ANSWERS = (
    "Recognise foreign diplomas faster.",
    "Pay on time and say so in the contract.",
    "One office for all the paperwork.",
    "Housing for short stays.",
    "Schools for our children during a mission.",
    "Publish the results of past missions.",
    "Help with health insurance while we are there.",
)


def consultations(
    rng: random.Random,
    asked_by: dict[str, tuple[Organisation | None, Account]],
    profiles: list[Profile],
    today: date,
) -> tuple[list[Consultation], list[ConsultationResponse]]:
    """The demo's consultations and the answers of part of the members they ask (never the first member,
    who finds them waiting on their page). Its own generator: the rest of the demo stays put."""
    consultations, responses = [], []
    for who, status, title, questions in DEMO_CONSULTATIONS:
        organisation, account = asked_by[who]
        keyed = [
            {"key": f"q{i}", "options": [], "scale_max": 5, "required": False, **q}
            for i, q in enumerate(questions, start=1)
        ]
        consultation = Consultation(
            organisation_id=organisation.id if organisation else None,
            created_by_id=account.id,
            title=title,
            intro="Your answers shape next year's programme. Only totals are shown, never who answered.",
            questions=keyed,
            filters={},
            scope_country=organisation.country if organisation else None,
            status=status,
            closes_on=today + timedelta(days=21),
            opened_at=utcnow() if status != ConsultationStatus.DRAFT.value else None,
        )
        consultations.append(consultation)
        if status == ConsultationStatus.DRAFT.value:
            continue
        asked = [
            p
            for p in profiles
            if p.consent is not None
            and p.consent.open_to_consultations
            and (organisation is None or p.origin_country == organisation.country)
        ]
        consultation.invited = len(asked)
        for profile in asked[1:] if asked and asked[0] is profiles[0] else asked:
            if rng.random() >= 0.6:
                continue
            answers: dict[str, object] = {}
            for q in keyed:
                if not q["required"] and rng.random() < 0.25:
                    continue
                options = list(q["options"])  # type: ignore[call-overload]
                if q["kind"] == "single":
                    answers[str(q["key"])] = rng.choice(range(len(options)))
                elif q["kind"] == "multiple":
                    answers[str(q["key"])] = sorted(rng.sample(range(len(options)), k=rng.randint(1, 2)))
                elif q["kind"] == "scale":
                    answers[str(q["key"])] = rng.choice((2, 3, 3, 4, 4, 5))
                else:
                    answers[str(q["key"])] = rng.choice(DEMO_TEXT_ANSWERS)
            responses.append(
                ConsultationResponse(consultation=consultation, profile_id=profile.id, answers=answers)
            )
    return consultations, responses


# What the demo's finished campaign left behind, and the stories its people told (English, Albanian).
DEMO_STORIES = (
    (
        "{days} days at {organisation}",
        "I came back for {days} days to work with the team at {organisation}. We trained {trained} "
        "colleagues together, wrote down the procedures we agreed on, and we still talk every week. "
        "I will be back next year, and two friends from abroad want to come too.",
    ),
    (
        "U ktheva për {days} ditë",
        "U ktheva për {days} ditë te {organisation}. Punuam me {trained} kolegë vendas, shkruam bashkë "
        "procedurat e reja dhe ende flasim çdo javë. Do të kthehem vitin e ardhshëm me dy kolegë.",
    ),
)


def finished_campaign(
    ministry: Organisation,
    organiser: Account,
    posts: list[Post],
    organisations: dict[object, Organisation],
    profiles: list[Profile],
    today: date,
) -> tuple[Campaign | None, list[CampaignMatch], list[Story]]:
    """A campaign of last season, closed: people placed in posts (members no longer open to matching, so
    today's campaigns do not meet them), what each placement left behind, and two published stories."""
    placed_people = [p for p in profiles if p.consent is not None and not p.consent.open_to_matching][:3]
    hosts = [p for p in posts if p.status == "open"][: len(placed_people)]
    if not hosts:
        return None, [], []
    campaign = Campaign(
        id=new_id(),
        organisation_id=ministry.id,
        created_by_id=organiser.id,
        name="Summer missions (finished)",
        description="Last season's short missions.",
        countries=sorted({p.country for p in hosts}),
        start_date=today - timedelta(days=200),
        end_date=today - timedelta(days=60),
        status="closed",
        posts=[CampaignPost(post_id=p.id) for p in hosts],
    )
    matches, stories = [], []
    ago = utcnow() - timedelta(days=150)
    for n, (post, profile) in enumerate(zip(hosts, placed_people, strict=False)):
        trained = 4 + 3 * n
        match = CampaignMatch(
            campaign_id=campaign.id,
            post_id=post.id,
            profile_id=profile.id,
            state="placed",
            score=0.82 - 0.05 * n,
            components={"semantic": 0.8, "skills": 0.9, "availability": 1.0, "languages": 1.0},
            explanation={"semantic_similarity": 0.8},
            invited_at=ago,
            answered_at=ago + timedelta(days=2),
            local_staff_trained=trained,
            transferred="Procedures written down with the team; weekly calls since.",
            outcome_recorded_at=ago + timedelta(days=40),
        )
        matches.append(match)
        if n >= len(DEMO_STORIES):
            continue
        title, body = DEMO_STORIES[n]
        words = {"days": post.duration_days or 14, "organisation": organisations[post.organisation_id].name}
        title, body = title.format(**words), body.format(trained=trained, **words)
        stories.append(
            Story(
                match=match,
                author_id=profile.account_id,
                title=title,
                body=body,
                language=identify(f"{title}\n{body}"),
                search_text=fold(f"{title}\n{body}"),
                member_consent_at=ago + timedelta(days=45),
                host_consent_at=ago + timedelta(days=46),
                status=StoryStatus.PUBLISHED.value,
                published_at=ago + timedelta(days=47 + n),
            )
        )
    return campaign, matches, stories
