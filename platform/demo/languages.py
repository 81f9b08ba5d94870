"""The demo's texts in the languages its people write in: posts in Albanian, Serbian (Latin and
Cyrillic) and Macedonian next to English, profiles in German and the region's languages.

Written by hand for the professions whose posts and profiles the demo shows most (health and software);
the others stay in English, as many real posts do. Skills stay in English: professionals in the region
list them so, and the matcher compares them across languages anyway.
"""

from __future__ import annotations

import random

import cyrtranslit

# profession headline (English) -> language -> (headline, summary)
TRANSLATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "Interventional cardiologist": {
        "sq": (
            "Kardiolog intervencional",
            "Kardiolog konsulent që drejton një laborator kateterizimi; trajnon specializantët në PCI.",
        ),
        "sr": (
            "Interventni kardiolog",
            "Kardiolog konsultant koji vodi salu za kateterizaciju; obučava specijalizante za PCI.",
        ),
        "mk": (
            "Интервентен кардиолог",
            "Кардиолог консултант кој раководи со лабораторија за катетеризација; обучува специјализанти.",
        ),
        "de": (
            "Interventioneller Kardiologe",
            "Oberarzt der Kardiologie, leitet ein Herzkatheterlabor und bildet Fachärzte in PCI aus.",
        ),
    },
    "Paediatric nurse": {
        "sq": ("Infermiere pediatrike", "Infermiere në një njësi të kujdesit intensiv neonatal."),
        "sr": (
            "Pedijatrijska medicinska sestra",
            "Medicinska sestra na odeljenju intenzivne nege novorođenčadi.",
        ),
        "mk": (
            "Педијатриска медицинска сестра",
            "Медицинска сестра во единица за интензивна нега на новороденчиња.",
        ),
        "de": (
            "Kinderkrankenpflegerin",
            "Examinierte Pflegekraft auf einer neonatologischen Intensivstation.",
        ),
    },
    "Anaesthesiologist": {
        "sq": ("Anesteziolog", "Anesteziolog në një spital universitar, mbulon edhe reanimacionin."),
        "sr": ("Anesteziolog", "Anesteziolog u univerzitetskoj bolnici, pokriva i jedinicu intenzivne nege."),
        "mk": ("Анестезиолог", "Анестезиолог во универзитетска болница, ја покрива и интензивната нега."),
        "de": (
            "Anästhesist",
            "Anästhesist an einem Universitätsklinikum, auch auf der Intensivstation tätig.",
        ),
    },
    "Oncologist": {
        "sq": ("Onkolog", "Onkolog që drejton prova klinike për tumoret solide."),
        "sr": ("Onkolog", "Internistički onkolog koji vodi klinička ispitivanja solidnih tumora."),
        "mk": ("Онколог", "Медицински онколог кој води клинички испитувања за солидни тумори."),
        "de": ("Onkologe", "Internistischer Onkologe, leitet klinische Studien zu soliden Tumoren."),
    },
    "Radiologist": {
        "sq": ("Radiolog", "Radiolog që lexon CT dhe MRI, me përvojë në teleradiologji."),
        "sr": ("Radiolog", "Radiolog koji očitava CT i MR snimke, sa iskustvom u teleradiologiji."),
        "mk": ("Радиолог", "Радиолог кој чита КТ и МР снимки, со искуство во телерадиологија."),
        "de": ("Radiologe", "Radiologe für CT- und MRT-Befundung, erfahren in Teleradiologie."),
    },
    "Software engineer": {
        "sq": ("Inxhinier softueri", "Inxhinier backend që ndërton sisteme pagesash në cloud."),
        "sr": ("Softverski inženjer", "Bekend inženjer koji razvija platne sisteme u oblaku."),
        "mk": ("Софтверски инженер", "Бекенд инженер кој развива платежни системи во облак."),
        "de": ("Softwareentwickler", "Backend-Entwickler, baut Zahlungssysteme in der Cloud."),
    },
    "Data scientist": {
        "sq": (
            "Shkencëtar i të dhënave",
            "Shkencëtar i të dhënave që punon me parashikime dhe eksperimente.",
        ),
        "sr": ("Analitičar podataka", "Analitičar podataka koji radi na prognozama i eksperimentima."),
        "mk": ("Аналитичар на податоци", "Аналитичар на податоци кој работи на прогнози и експерименти."),
        "de": ("Data Scientist", "Data Scientist mit Schwerpunkt auf Prognosen und Experimenten."),
    },
}

# How an organisation in each country may write its posts (besides English).
POST_LANGUAGES = {
    "AL": ("sq",),
    "XK": ("sq",),
    "RS": ("sr-Cyrl", "sr"),
    "BA": ("sr",),
    "ME": ("sr", "sr-Cyrl"),
    "MK": ("mk",),
}
_POST = {
    "sq": (
        "{headline}, mision {days} ditë, {place}",
        "{org} kërkon: {headline_lower}, angazhim {days} ditë. {summary}",
    ),
    "sr": (
        "{headline}, misija od {days} dana, {place}",
        "{org} traži: {headline_lower}, angažman od {days} dana. {summary}",
    ),
    "mk": (
        "{headline}, мисија од {days} дена, {place}",
        "{org} бара: {headline_lower}, ангажман од {days} дена. {summary}",
    ),
}
_PROFILE = {
    "de": ("{headline} in {residence}", "{summary} {years} Jahre Berufserfahrung; geboren in {born}."),
    "sq": ("{headline} në {residence}", "{summary} {years} vjet përvojë; vendlindja: {born}."),
    "sr": ("{headline}, {residence}", "{summary} {years} godina iskustva; rodno mesto: {born}."),
    "mk": ("{headline}, {residence}", "{summary} {years} години искуство; роден крај: {born}."),
}
_HOME_WRITING = {"sq": "sq", "sr": "sr", "bs": "sr", "hr": "sr", "mk": "mk"}


def post_texts(
    rng: random.Random, profession: str, country: str, *, organisation: str, place: str, days: int
) -> tuple[str, str] | None:
    """A post's (title, description) in a language of `country`, or None to keep it in English (half the
    time, and always for a profession without translations)."""
    choices = POST_LANGUAGES.get(country)
    if not choices or profession not in TRANSLATIONS or rng.random() < 0.5:
        return None
    language = rng.choice(choices)
    cyrillic = language == "sr-Cyrl"
    base = "sr" if cyrillic else language
    headline, summary = TRANSLATIONS[profession][base]
    title_template, description_template = _POST[base]
    values = {"headline": headline, "headline_lower": headline[0].lower() + headline[1:], "summary": summary}
    title = title_template.format(days=days, place=place, **values)
    description = description_template.format(days=days, org="{org}", **values)
    if cyrillic:
        title = str(cyrtranslit.to_cyrillic(title, "sr"))
        description = str(cyrtranslit.to_cyrillic(description, "sr"))
    return title, description.replace("{org}", organisation)


def profile_texts(
    rng: random.Random,
    profession: str,
    *,
    residence: str,
    home_language: str,
    years: int,
    born: str,
) -> tuple[str, str] | None:
    """A profile's (headline, summary) in German (people living in German-speaking countries, a third
    of them) or their home language (one in five), or None to keep it in English."""
    translations = TRANSLATIONS.get(profession)
    if translations is None:
        return None
    draw = rng.random()
    if residence in ("DE", "CH", "AT") and draw < 0.3:
        language = "de"
    elif draw > 0.8 and home_language in _HOME_WRITING:
        language = _HOME_WRITING[home_language]
    else:
        return None
    headline, summary = translations[language]
    headline_template, summary_template = _PROFILE[language]
    return (
        headline_template.format(headline=headline, residence=residence),
        summary_template.format(summary=summary, years=years, born=born),
    )
