"""What the demo data set is made of: professions with their skills, where members live and come from,
names, organisations of the region, and investment and volunteering opportunities. Nothing here is a real
person; the organisations are plausible, not real."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profession:
    headline: str
    sector: str
    skills: tuple[str, ...]
    summary: str


PROFESSIONS: tuple[Profession, ...] = (
    Profession(
        "Interventional cardiologist",
        "health",
        (
            "coronary angiography",
            "percutaneous coronary intervention",
            "echocardiography",
            "cardiac catheterisation",
            "clinical teaching",
        ),
        "Consultant cardiologist running a catheterisation lab; trains fellows in PCI.",
    ),
    Profession(
        "Paediatric nurse",
        "health",
        (
            "paediatric nursing",
            "neonatal intensive care",
            "patient education",
            "triage",
            "medication administration",
        ),
        "Registered nurse on a neonatal intensive care unit.",
    ),
    Profession(
        "Anaesthesiologist",
        "health",
        (
            "general anaesthesia",
            "regional anaesthesia",
            "intensive care medicine",
            "airway management",
            "pain management",
        ),
        "Anaesthesiologist in a university hospital, also covering the ICU.",
    ),
    Profession(
        "Oncologist",
        "health",
        ("medical oncology", "chemotherapy protocols", "clinical trials", "palliative care", "tumour boards"),
        "Medical oncologist leading clinical trials on solid tumours.",
    ),
    Profession(
        "Radiologist",
        "health",
        (
            "diagnostic radiology",
            "magnetic resonance imaging",
            "computed tomography",
            "ultrasound",
            "teleradiology",
        ),
        "Radiologist reading CT and MRI, experienced in teleradiology services.",
    ),
    Profession(
        "Software engineer",
        "ict",
        ("python", "distributed systems", "cloud infrastructure", "postgresql", "code review"),
        "Backend engineer building payment systems in the cloud.",
    ),
    Profession(
        "Data scientist",
        "ict",
        ("machine learning", "statistics", "python", "data visualisation", "sql"),
        "Data scientist working on forecasting and experimentation.",
    ),
    Profession(
        "Cybersecurity specialist",
        "ict",
        ("penetration testing", "incident response", "network security", "security audits", "iso 27001"),
        "Security engineer leading incident response for a bank.",
    ),
    Profession(
        "Civil engineer",
        "engineering",
        (
            "structural design",
            "reinforced concrete",
            "bridge engineering",
            "autocad",
            "construction supervision",
        ),
        "Structural engineer designing bridges and public buildings.",
    ),
    Profession(
        "Water engineer",
        "engineering",
        ("water supply systems", "wastewater treatment", "hydraulic modelling", "gis", "project management"),
        "Engineer planning municipal water and wastewater networks.",
    ),
    Profession(
        "Renewable energy engineer",
        "energy",
        ("solar photovoltaics", "wind energy", "grid integration", "energy auditing", "feasibility studies"),
        "Energy engineer developing utility-scale solar parks.",
    ),
    Profession(
        "University lecturer in economics",
        "education",
        ("econometrics", "curriculum design", "academic writing", "public policy analysis", "teaching"),
        "Associate professor of economics; advises governments on fiscal policy.",
    ),
    Profession(
        "Secondary school teacher of mathematics",
        "education",
        (
            "mathematics teaching",
            "curriculum design",
            "student assessment",
            "e-learning",
            "classroom management",
        ),
        "Mathematics teacher and author of e-learning materials.",
    ),
    Profession(
        "Urban planner",
        "public administration",
        ("urban planning", "gis", "public consultation", "zoning regulation", "transport planning"),
        "Planner working on city mobility and zoning plans.",
    ),
    Profession(
        "Public procurement specialist",
        "public administration",
        (
            "public procurement",
            "eu funds management",
            "contract management",
            "compliance",
            "tender evaluation",
        ),
        "Procurement officer managing EU-funded tenders.",
    ),
    Profession(
        "Agronomist",
        "agriculture",
        ("crop production", "irrigation", "soil science", "organic farming", "agricultural extension"),
        "Agronomist advising cooperatives on irrigation and organic certification.",
    ),
    Profession(
        "Tourism and hospitality manager",
        "tourism",
        (
            "hotel management",
            "revenue management",
            "destination marketing",
            "customer service",
            "event planning",
        ),
        "Hotel manager with experience opening new properties.",
    ),
    Profession(
        "Financial analyst",
        "finance",
        ("financial modelling", "investment analysis", "due diligence", "valuation", "excel"),
        "Analyst at a private equity fund, focused on emerging Europe.",
    ),
    Profession(
        "Welder",
        "manufacturing",
        ("arc welding", "tig welding", "metal fabrication", "blueprint reading", "quality inspection"),
        "Certified welder in shipbuilding and steel structures.",
    ),
    Profession(
        "Lawyer specialised in EU law",
        "law",
        ("eu law", "legal drafting", "regulatory compliance", "contract law", "legislative approximation"),
        "Lawyer advising on EU accession and regulatory alignment.",
    ),
)

RESIDENCE = ("DE", "DE", "DE", "CH", "CH", "AT", "AT", "IT", "IT", "US", "US", "CA", "SE", "GB", "FR")
# Where the diaspora of the region lives, by country; the first city of each is the most common.
RESIDENCE_CITIES = {
    "DE": ("Munich", "Munich", "Stuttgart", "Frankfurt", "Berlin", "Düsseldorf"),
    "CH": ("Zurich", "Zurich", "Geneva", "Basel", "Lausanne"),
    "AT": ("Vienna", "Vienna", "Vienna", "Graz", "Linz"),
    "IT": ("Milan", "Milan", "Rome", "Turin", "Bari"),
    "US": ("New York", "New York", "Chicago", "Detroit", "Boston"),
    "CA": ("Toronto", "Toronto", "Montreal"),
    "SE": ("Stockholm", "Malmö", "Gothenburg"),
    "GB": ("London", "London", "Manchester"),
    "FR": ("Paris", "Paris", "Lyon"),
}
ORIGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # country: (municipalities, languages spoken at home)
    "AL": (("Tirana", "Durrës", "Shkodër", "Vlorë", "Korçë", "Elbasan"), ("sq",)),
    "XK": (("Prishtina", "Prizren", "Peja", "Gjakova", "Mitrovica"), ("sq",)),
    "BA": (("Sarajevo", "Banja Luka", "Tuzla", "Mostar", "Zenica"), ("bs", "hr", "sr")),
    "RS": (("Belgrade", "Novi Sad", "Niš", "Kragujevac", "Subotica"), ("sr",)),
    "ME": (("Podgorica", "Nikšić", "Bar", "Budva"), ("sr",)),
    "MK": (("Skopje", "Bitola", "Ohrid", "Tetovo", "Kumanovo"), ("mk", "sq")),
    "HR": (("Zagreb", "Split", "Rijeka", "Osijek", "Zadar"), ("hr",)),
}
HOST_LANGUAGE = {
    "DE": "de",
    "CH": "de",
    "AT": "de",
    "IT": "it",
    "US": "en",
    "CA": "en",
    "SE": "sv",
    "GB": "en",
    "FR": "fr",
}
FIRST_NAMES = (
    "Arben",
    "Besa",
    "Dritan",
    "Elira",
    "Jelena",
    "Marko",
    "Amra",
    "Emir",
    "Ivana",
    "Nikola",
    "Teuta",
    "Gjergj",
    "Ana",
    "Luka",
    "Selma",
    "Adnan",
    "Milica",
    "Stefan",
    "Blerta",
    "Fatmir",
    "Maja",
    "Petar",
    "Lejla",
    "Kenan",
    "Vesna",
    "Goran",
    "Ilir",
    "Lindita",
    "Dragana",
    "Aleksandar",
)
LAST_NAMES = (
    "Hoxha",
    "Krasniqi",
    "Berisha",
    "Gashi",
    "Petrović",
    "Jovanović",
    "Hodžić",
    "Kovačević",
    "Marković",
    "Nikolovski",
    "Shala",
    "Dervishi",
    "Babić",
    "Horvat",
    "Popović",
    "Mehmedović",
    "Stojanovska",
    "Kelmendi",
    "Đorđević",
    "Begić",
)

ORGANISATIONS: tuple[tuple[str, str, str, str, str], ...] = (
    # name, kind, country, municipality, sector
    ("University Hospital Centre Mother Teresa", "hospital", "AL", "Tirana", "health"),
    ("University Clinical Centre of Kosovo", "hospital", "XK", "Prishtina", "health"),
    ("Clinical Centre of Montenegro", "hospital", "ME", "Podgorica", "health"),
    ("University Clinical Centre Tuzla", "hospital", "BA", "Tuzla", "health"),
    ("General Hospital Ohrid", "hospital", "MK", "Ohrid", "health"),
    ("Clinical Hospital Centre Split", "hospital", "HR", "Split", "health"),
    ("University of Prishtina", "university", "XK", "Prishtina", "education"),
    ("University of Novi Sad", "university", "RS", "Novi Sad", "education"),
    ("Polytechnic University of Tirana", "university", "AL", "Tirana", "engineering"),
    ("Sarajevo Software Collective", "firm", "BA", "Sarajevo", "ict"),
    ("Adriatic Solar", "firm", "ME", "Bar", "energy"),
    ("Balkan Agro Cooperative", "firm", "MK", "Bitola", "agriculture"),
    ("Municipality of Shkodër", "municipality", "AL", "Shkodër", "public administration"),
    ("City of Mostar", "municipality", "BA", "Mostar", "public administration"),
    ("Municipality of Prizren", "municipality", "XK", "Prizren", "tourism"),
    ("Return and Reintegration NGO", "ngo", "RS", "Niš", "public administration"),
)


# Opportunities, written the way their authors would: in English, Albanian, Serbian/Bosnian/Croatian (Latin
# and Cyrillic) and Macedonian. (title, description, sector); {place} is the organisation's municipality.
INVESTMENTS: tuple[tuple[str, str, str], ...] = (
    (
        "Solar park of {mw} MW in {place}",
        "Ground-mounted photovoltaic park on municipal land; grid "
        "connection approved, looking for diaspora co-investors.",
        "energy",
    ),
    (
        "Agritourism guesthouse renovation near {place}",
        "Stone houses to be restored as a guesthouse with "
        "a farm-to-table restaurant; the family runs it, investors take a share.",
        "tourism",
    ),
    (
        "Fruit processing and cold storage in {place}",
        "Cold storage for 2,000 tonnes and a drying line for "
        "local plums and apples, supplied by 150 farmers.",
        "agriculture",
    ),
    (
        "Software outsourcing centre expansion in {place}",
        "Growing a team of 40 engineers to 120; seed capital for offices and a training academy.",
        "it",
    ),
    (
        "Private diagnostic clinic in {place}",
        "MRI and CT imaging centre with a teleradiology link to partner hospitals abroad.",
        "health",
    ),
    (
        "Investim në fermë blegtorale në {place}",
        "Fermë me 200 lopë qumështore dhe linjë për djathë; kërkojmë investitorë nga diaspora.",
        "agriculture",
    ),
    (
        "Investicija u hladnjaču za voće u {place}",
        "Hladnjača kapaciteta 1.500 tona za malinu i šljivu, sa linijom za sušenje.",
        "agriculture",
    ),
    (
        "Инвестиција у мини хидроелектрану код {place}",
        "Мини хидроелектрана од 2 MW са свим дозволама; тражимо инвеститоре из дијаспоре.",
        "energy",
    ),
    (
        "Инвестиција во винарија во {place}",
        "Проширување на семејна винарија со нова визба и дегустациска сала.",
        "agriculture",
    ),
)
VOLUNTEERING: tuple[tuple[str, str, str], ...] = (
    (
        "Volunteer doctors for a rural health week in {place}",
        "Screening camps in villages around {place}; "
        "we need general practitioners, paediatricians and nurses.",
        "health",
    ),
    (
        "Mentors for student startups at {org}",
        "Monthly remote mentoring sessions for student founders: product, fundraising, going abroad.",
        "education",
    ),
    (
        "Vullnetarë mësues për shkollën verore në {place}",
        "Mësues të matematikës dhe anglishtes për dy javë në korrik.",
        "education",
    ),
    (
        "Volonteri za čišćenje obale u {place}",
        "Vikend akcija čišćenja obale i edukacija o recikliranju.",
        "environment",
    ),
    (
        "Волонтери лекари за сеоске амбуланте ({place})",
        "Лекари опште праксе за две недеље рада у сеоским амбулантама.",
        "health",
    ),
    (
        "Remote code review volunteers for civic tech in {place}",
        "Review pull requests of the municipal open-data portal, a few hours a week.",
        "it",
    ),
    (
        "Volunteer translators for return guides ({place})",
        "Translate guides for returning families into German, Italian and English.",
        "social",
    ),
)
