"""Demo data for contacts and companies: about sixty people with English and Arabic names,
emails and phones, eight companies, tags, lifecycle stages, owners among the demo staff and
values for the core demo's custom fields (membership level, birthday, newsletter)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tend.core.demo import DemoContext
from tend.core.selectors.customfields import custom_definitions
from tend.core.selectors.tags import tag_list
from tend.people.services.companies import company_create
from tend.people.services.contacts import contact_create

COMPANIES = [
    ("Gulf Horizon Trading", "الأفق الخليجي للتجارة", "Trade", "Dubai", "AE",
     "gulfhorizon.example"),
    ("Nakheel Learning Centre", "مركز النخيل للتعليم", "Education", "Abu Dhabi", "AE",
     "nakheel-learning.example"),
    ("Riyadh Health Partners", "شركاء الرياض الصحيون", "Healthcare", "Riyadh", "SA",
     "riyadhhealth.example"),
    ("Thames Digital", "", "Software", "London", "GB", "thamesdigital.example"),
    ("Harbour Coffee Co.", "", "Hospitality", "Manchester", "GB", "harbourcoffee.example"),
    ("Oasis Architects", "واحة المعماريين", "Architecture", "Doha", "QA", "oasis-arch.example"),
    ("Blue Ridge Outfitters", "", "Retail", "Asheville", "US", "blueridge.example"),
    ("Levant Media House", "دار المشرق للإعلام", "Media", "Amman", "JO", "levantmedia.example"),
]
ENGLISH = [
    ("Emma", "Thompson"), ("Oliver", "Bennett"), ("Sophie", "Clarke"), ("James", "Walker"),
    ("Grace", "Mitchell"), ("Henry", "Lawson"), ("Chloe", "Harper"), ("Daniel", "Reeves"),
    ("Lucy", "Fletcher"), ("Samuel", "Price"), ("Isla", "Morgan"), ("Thomas", "Hughes"),
    ("Amelia", "Ward"), ("Jack", "Turner"), ("Ella", "Foster"), ("Noah", "Griffin"),
    ("Mia", "Porter"), ("Leo", "Barnes"), ("Ruby", "Shaw"), ("Ethan", "Cole"),
]
ARABIC_LATIN = [
    ("Layla", "Haddad"), ("Omar", "Al-Farsi"), ("Yasmin", "Nasser"), ("Khalid", "Mansour"),
    ("Noor", "Saleh"), ("Tariq", "Aziz"), ("Huda", "Karim"), ("Faisal", "Al-Qasimi"),
    ("Rania", "Haddad"), ("Sami", "Khoury"), ("Dalia", "Youssef"), ("Ziad", "Hamdan"),
]
ARABIC = [
    ("ليلى", "الحداد"), ("محمد", "المنصوري"), ("فاطمة", "الزهراني"), ("أحمد", "العتيبي"),
    ("مريم", "الشامسي"), ("يوسف", "القحطاني"), ("سارة", "الهاشمي"), ("عمر", "النعيمي"),
    ("نورة", "السويدي"), ("خالد", "الدوسري"), ("هند", "البلوشي"), ("علي", "الكعبي"),
    ("ريم", "الظاهري"), ("حسن", "المهيري"), ("آمنة", "الرميثي"), ("سلمان", "الشمري"),
]
ARABIC_LOGIN = {
    "ليلى": "laila", "محمد": "mohammed", "فاطمة": "fatima", "أحمد": "ahmed", "مريم": "maryam",
    "يوسف": "yousef", "سارة": "sara", "عمر": "omar", "نورة": "noura", "خالد": "khalid",
    "هند": "hind", "علي": "ali", "ريم": "reem", "حسن": "hassan", "آمنة": "amna",
    "سلمان": "salman",
}
STAGES = ["SUBSCRIBER", "LEAD", "PROSPECT", "CUSTOMER", "MEMBER", "MEMBER", "ADVOCATE",
          "CHURNED", ""]
LEVELS = ["newcomer", "regular", "regular", "mentor"]
CITIES = {"AE": ["Dubai", "Abu Dhabi", "Sharjah"], "SA": ["Riyadh", "Jeddah"],
          "GB": ["London", "Manchester", "Leeds"], "US": ["Boston", "Austin"],
          "JO": ["Amman"], "QA": ["Doha"]}


def _phone(country: str, n: int) -> str:
    if country == "AE":
        return f"+97150{3000000 + n * 7919:07d}"
    if country == "SA":
        return f"+9665{50000000 + n * 104729:08d}"
    if country == "GB":
        return f"+44207946{n % 1000:04d}"
    return f"+1202555{100 + n % 100:04d}"


def load_contacts_demo(ctx: DemoContext) -> None:
    tenant, actor, rng = ctx.tenant, ctx.actor, ctx.rng
    owners = [ctx.owner, *[ctx.staff[k] for k in ("admin", "manager", "agent")
                           if k in ctx.staff]]
    companies = [
        company_create(tenant=tenant, actor=actor, data={
            "name": name, "names": {"ar": ar} if ar else {}, "sector": sector, "city": city,
            "country": country, "domain": domain, "website": f"https://{domain}",
            "owner": rng.choice(owners)})
        for name, ar, sector, city, country, domain in COMPANIES
    ]
    tags = {t.name: t for t in tag_list(tenant=tenant)}
    keys = {d.key for d in custom_definitions(tenant=tenant, entity_type="contact")}
    people: list[tuple[str, str, str, str]] = []  # first, last, login, country
    people += [(f, ln, f"{f}.{ln}".lower(), rng.choice(["GB", "US", "GB"])) for f, ln in ENGLISH]
    people += [(f, ln, f"{f}.{ln}".lower().replace("-", ""), rng.choice(["AE", "JO", "SA"]))
               for f, ln in ARABIC_LATIN]
    people += [(f, ln, f"{ARABIC_LOGIN[f]}{i}", rng.choice(["AE", "SA", "QA"]))
               for i, (f, ln) in enumerate(ARABIC)]
    # A few more: second-generation names mixing both, to reach about sixty.
    people += [(ENGLISH[i][0], ARABIC_LATIN[i][1], f"{ENGLISH[i][0]}.{i}".lower(), "AE")
               for i in range(12)]
    for n, (first, last, login, country) in enumerate(people):
        company = rng.choice(companies) if rng.random() < 0.6 else None
        domain = company.domain if company and rng.random() < 0.7 else rng.choice(
            ["mail.example", "inbox.example", "post.example"])
        emails = [f"{login}@{domain}"] if rng.random() < 0.9 else []
        if emails and rng.random() < 0.15:
            emails.append(f"{login}.home@mail.example")
        phones = [_phone(country, n)] if rng.random() < 0.75 or not emails else []
        custom: dict[str, Any] = {}
        if "membership_level" in keys and rng.random() < 0.7:
            custom["membership_level"] = rng.choice(LEVELS)
        if "birthday" in keys and rng.random() < 0.5:
            born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 45))
            custom["birthday"] = born.isoformat()
        if "newsletter" in keys:
            custom["newsletter"] = rng.random() < 0.6
        chosen = [t for t in tags.values() if rng.random() < 0.2]
        is_arabic = any("\u0600" <= ch <= "\u06ff" for ch in first)
        contact_create(
            tenant=tenant, actor=actor, emails=emails, phones=phones, tags=chosen,
            data={
                "first_name": first, "last_name": last, "country": country,
                "city": rng.choice(CITIES[country]),
                "language": "ar" if is_arabic or (country != "GB" and rng.random() < 0.4)
                else "en",
                "lifecycle_stage": rng.choice(STAGES),
                "owner": rng.choice(owners) if rng.random() < 0.8 else None,
                "company": company,
                "job_title": rng.choice(["", "Manager", "Engineer", "Teacher", "Designer",
                                         "Nurse", "Founder", "Student"]),
                "source": rng.choice(["website", "event", "referral", "import"]),
                "custom": custom,
            })
