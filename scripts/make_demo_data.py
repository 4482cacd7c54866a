"""Write hpsearch's three small demo datasets (synthetic, written for this project).

    python scripts/make_demo_data.py

rewrites src/hpsearch/data/demo/{legal,healthcare,engineering}.jsonl byte-identically (fixed seeds,
standard library only). Every line is {"text": ..., "label": ..., "group": ...}; 360 rows per file.

How the rows are made:

* every (label, group) cell gets a fixed quota, so labels and groups are balanced by construction
  (legal: `fair` is 40%, the other four clause types 15% each);
* a row is one to three sentences filled from templates; each label has its own templates and
  slot vocabulary, and each group has its own vocabulary (jurisdictions have their own courts,
  currencies and company suffixes, age bands their own ages and diagnoses, components their own
  objects and errors), so texts are varied and the group is visible in the text as it would be
  in real data;
* a fixed number of rows per group use phrasing shared between two or more labels (hard), and a
  fixed number have their label flipped to a plausible neighbouring label (annotation noise);
  one group per file (legal `in`, healthcare `paediatric`, engineering `docs`) gets several times
  more of both, so a classifier scores lower on it and the per-group gap is real;
* exact duplicates and near-duplicates (word-set Jaccard >= 0.75 with an earlier row) are
  rejected and redrawn; finally the rows are shuffled.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "hpsearch" / "data" / "demo"
NEAR_DUPLICATE = 0.75  # word-set Jaccard similarity above which a new row is redrawn

Slots = dict[str, list[str]]


# --------------------------------------------------------------------------------------------
# Template filling
# --------------------------------------------------------------------------------------------


class _Fields(dict[str, str]):
    """A str.format_map mapping that asks `resolve` for every field."""

    def __init__(self, resolve: Callable[[str], str]) -> None:
        super().__init__()
        self.resolve = resolve

    def __missing__(self, key: str) -> str:
        return self.resolve(key)


def fill(rng: random.Random, template: str, slots: Slots, chosen: dict[str, str] | None = None) -> str:
    """Fill {slot} fields (nested ones too) with random choices; {Slot} capitalises the value.

    A slot keeps the value it was first given within the sentence, or across all sentences that
    share one `chosen` dict (so that a row talks about one company, patient or component).
    """
    chosen = {} if chosen is None else chosen

    def resolve(key: str) -> str:
        name = key[0].lower() + key[1:]
        if name not in chosen:
            chosen[name] = expand(rng.choice(slots[name]))
        value = chosen[name]
        return value[0].upper() + value[1:] if key[0].isupper() else value

    def expand(text: str) -> str:
        return text.format_map(_Fields(resolve)) if "{" in text else text

    out = expand(template)
    return out[0].upper() + out[1:]


def merge(*dicts: Slots) -> Slots:
    out: Slots = {}
    for d in dicts:
        for key, values in d.items():
            out[key] = out.get(key, []) + list(values)
    return out


def words(text: str) -> frozenset[str]:
    return frozenset(text.lower().replace(".", " ").replace(",", " ").replace(";", " ").split())


def quotas(total: int, n: int, offset: int) -> list[int]:
    """Split total into n near-equal integers; the larger shares start at position offset."""
    base, extra = divmod(total, n)
    return [base + (1 if (i - offset) % n < extra else 0) for i in range(n)]


# --------------------------------------------------------------------------------------------
# Legal: clauses from online terms of service, grouped by the contract's jurisdiction
# --------------------------------------------------------------------------------------------

LEGAL_LABELS = {"fair": 144, "limitation_of_liability": 54, "unilateral_termination": 54,
                "unilateral_change": 54, "jurisdiction": 54}
LEGAL_GROUPS = ["us", "uk", "eu", "in"]

LEGAL_SLOTS: Slots = {
    "bname": ["Nimbus", "Quillbox", "Larkspur", "Tandem", "Orbitly", "Pebblepost", "Brightwave",
              "Ferrofy", "Juniper Cloud", "Kestrel", "Marlowe", "Tessera", "Halcyon", "Vantry"],
    "co": ["{bname} {bsfx}", "{bname} {bsfx}", "the Company", "the Provider", "the Service Provider",
           "the Operator"],
    "svc": ["the Service", "the Platform", "the Website", "the App", "the Software", "the Site",
            "{bname}", "the {bname} app", "the {bname} platform"],
    "user": ["the User", "the Customer", "the Subscriber", "the Member", "the Account Holder"],
    "plan": ["subscription", "membership", "account", "premium plan", "free trial", "service plan"],
    "content": ["content", "files", "photos and videos", "posts and comments", "data", "documents",
                "playlists", "project files", "messages"],
    "when": ["at any time", "at any time and for any reason", "without prior notice",
             "with or without notice", "with or without cause", "immediately and without notice",
             "for any reason or no reason", "without giving reasons", "without notice or liability",
             "for any or no reason, without notice"],
    "damage": ["indirect, incidental or consequential", "special, exemplary or punitive",
               "indirect or consequential", "incidental, special or punitive",
               "consequential or economic", "indirect, special or consequential"],
    "cause": ["service interruptions", "unauthorised access to your account", "viruses or other harmful code",
              "errors or omissions in any content", "the conduct of other users", "delays in delivery",
              "the loss or corruption of data", "any reliance placed on the information provided"],
    "harm": ["any loss of profits, revenue or business opportunity", "any damage to your device",
             "any loss of goodwill or reputation", "any lost or corrupted data",
             "any costs of procuring substitute services"],
    "force": ["strikes, floods, fires or acts of God", "power failures or internet outages",
              "pandemics, war or government action", "failures of third-party hosting providers"],
    "affiliates": ["affiliates", "officers and directors", "licensors and suppliers",
                   "employees, agents and partners"],
    "notice": ["thirty days'", "14 days'", "one month's", "60 days'", "two weeks'"],
    "days": ["fourteen days", "30 days", "two business days", "ten working days", "48 hours"],
    "email": ["support@{bname_l}.example", "help@{bname_l}.example", "legal@{bname_l}.example"],
    "bname_l": ["nimbus", "quillbox", "larkspur", "tandem", "orbitly", "kestrel", "halcyon"],
    "age": ["13", "16", "18"],
    "cycle": ["monthly", "annual", "quarterly", "monthly or annual"],
    "purpose": ["personal, non-commercial", "internal business", "personal"],
    "months": ["six", "twelve", "eighteen", "24"],
    "breach": ["breached these Terms", "provided false information", "engaged in fraudulent activity",
               "infringed the rights of others", "misused the referral programme",
               "shared your login with others"],
    "doc": ["Terms of Service", "Acceptable Use Policy", "pricing schedule", "Community Guidelines",
            "Privacy Policy", "service description"],
    "sec": [str(n) for n in range(2, 25)],
    "sub": [str(n) for n in range(1, 10)],
}

LEGAL_BY_GROUP: dict[str, Slots] = {
    "us": {
        "bsfx": ["Inc.", "LLC", "Corp."],
        "licence": ["license"], "cancelled": ["canceled"], "organisation": ["organization"],
        "law": ["the laws of the State of Delaware", "the laws of the State of California",
                "New York law", "the laws of the State of Washington", "Texas law and applicable federal law"],
        "courts": ["the state and federal courts located in Santa Clara County, California",
                   "the courts of New Castle County, Delaware", "the state or federal courts in New York County",
                   "the courts located in King County, Washington", "the federal courts in Travis County, Texas"],
        "seat": ["San Francisco, California", "New York, New York", "Wilmington, Delaware", "Austin, Texas"],
        "arb": ["the American Arbitration Association", "JAMS under its Streamlined Arbitration Rules",
                "the AAA under its Consumer Arbitration Rules"],
        "cap": ["the greater of one hundred US dollars ($100) or the amounts you paid in the past twelve months",
                "$50", "the fees paid by you during the three months preceding the claim", "US$500"],
        "constat": ["applicable state consumer protection laws", "the California Consumer Privacy Act",
                    "the laws of your state of residence"],
        "tax": ["applicable sales tax"],
        "region": ["the United States", "the U.S. and its territories"],
    },
    "uk": {
        "bsfx": ["Ltd", "Limited", "plc"],
        "licence": ["licence"], "cancelled": ["cancelled"], "organisation": ["organisation"],
        "law": ["the laws of England and Wales", "English law", "Scots law", "the law of England"],
        "courts": ["the courts of England and Wales", "the High Court in London", "the Scottish courts",
                   "the courts of England", "the county court nearest to our registered office in Manchester"],
        "seat": ["London", "Edinburgh", "Manchester"],
        "arb": ["the London Court of International Arbitration", "the Chartered Institute of Arbitrators"],
        "cap": ["one hundred pounds sterling (£100)", "£50", "the total fees you paid in the preceding twelve months",
                "£250 or the fees you paid in the last year, whichever is lower"],
        "constat": ["the Consumer Rights Act 2015", "the UK GDPR", "the Consumer Contracts Regulations 2013"],
        "tax": ["VAT"],
        "region": ["the United Kingdom", "England, Wales, Scotland and Northern Ireland"],
    },
    "eu": {
        "bsfx": ["GmbH", "B.V.", "S.A.", "SAS", "AB", "Oy"],
        "licence": ["licence"], "cancelled": ["cancelled"], "organisation": ["organisation"],
        "law": ["Irish law", "the laws of the Grand Duchy of Luxembourg", "Dutch law", "German law",
                "the laws of France", "Swedish law"],
        "courts": ["the courts of Dublin, Ireland", "the competent courts of Luxembourg City",
                   "the District Court of Amsterdam", "the courts of Munich, Germany", "the Tribunal de commerce de Paris",
                   "the Stockholm District Court"],
        "seat": ["Dublin", "Luxembourg", "Amsterdam", "Paris", "Stockholm", "Vienna"],
        "arb": ["the ICC International Court of Arbitration", "the Netherlands Arbitration Institute",
                "the Vienna International Arbitral Centre"],
        "cap": ["one hundred euros (€100)", "€50", "EUR 200", "the amount paid by you in the twelve months before the claim"],
        "constat": ["the General Data Protection Regulation", "the mandatory consumer law of your country of residence",
                    "Directive (EU) 2019/770", "the Digital Services Act"],
        "tax": ["VAT at the rate of your member state"],
        "region": ["the European Union", "the European Economic Area", "EU member states"],
    },
    "in": {
        "bsfx": ["Private Limited", "Pvt. Ltd.", "Technologies Pvt. Ltd."],
        "licence": ["licence", "license"], "cancelled": ["cancelled"], "organisation": ["organisation"],
        "law": ["the laws of India", "the laws of the Republic of India", "the Indian Contract Act, 1872",
                "Indian law including the Information Technology Act, 2000"],
        "courts": ["the courts at Mumbai", "the competent courts in New Delhi", "the courts in Bengaluru, Karnataka",
                   "the courts of Chennai", "the courts at Hyderabad, Telangana", "the courts in Pune"],
        "seat": ["Mumbai", "New Delhi", "Bengaluru", "Chennai", "Hyderabad", "Gurugram"],
        "arb": ["a sole arbitrator appointed under the Arbitration and Conciliation Act, 1996",
                "the Mumbai Centre for International Arbitration", "the Delhi International Arbitration Centre"],
        "cap": ["INR 5,000", "Rs. 1,000", "the fees paid by you in the preceding three months or INR 10,000, whichever is less",
                "Rs. 2,500"],
        "constat": ["the Consumer Protection Act, 2019", "the Digital Personal Data Protection Act, 2023",
                    "the Information Technology Act, 2000"],
        "tax": ["GST"],
        "region": ["India", "the territory of India"],
    },
}

LEGAL: dict[str, list[str]] = {
    "fair": [
        "You may cancel your {plan} at any time from your account settings, and we will refund any unused portion of the fees.",
        "{Co} will give you at least {notice} notice by email before any increase in the fees takes effect, and you may cancel before then without penalty.",
        "You retain all ownership rights in the {content} you submit to {svc}.",
        "We process your personal data only as described in our Privacy Policy and in accordance with {constat}.",
        "If you have a complaint, please contact our support team at {email}, and we aim to respond within {days}.",
        "You can download a copy of your {content} at any time before closing your account.",
        "Nothing in these Terms affects your statutory rights under {constat}.",
        "These Terms, together with the {doc}, form the entire agreement between you and {co} regarding {svc}.",
        "If any provision of these Terms is found to be invalid, the remaining provisions will continue in full force and effect.",
        "You must be at least {age} years old to create an account on {svc}.",
        "You are responsible for keeping your password confidential and for activity that takes place under your account.",
        "{Co} grants you a personal, non-exclusive, non-transferable {licence} to use {svc} for {purpose} purposes.",
        "Fees are charged in advance on a {cycle} basis, and all prices shown include {tax} where applicable.",
        "You agree not to use {svc} to send spam, upload malicious code or infringe the intellectual property of others.",
        "Our failure to enforce any provision of these Terms shall not be construed as a waiver of that provision.",
        "Notices to you will be sent to the email address associated with your account.",
        "You may close your account at any time, and we will delete your {content} within {days} unless the law requires otherwise.",
        "Headings in these Terms are for convenience only and do not affect their interpretation.",
        "If we suspend your account, we will tell you why and give you an opportunity to respond within {days}.",
        "{Svc} may contain links to third-party websites, which are governed by their own terms and privacy policies.",
        "You may use {svc} on up to five devices registered to your account.",
        "Refund requests made within {days} of purchase will be honoured in full.",
        "A summary of the key points of these Terms is provided at the top of this page in plain language.",
        "Where you purchase {svc} as a consumer in {region}, you have a right to withdraw from the contract within fourteen days.",
        "We will only contact you for marketing purposes if you have opted in, and you can unsubscribe at any time.",
        "Your {plan} renews automatically, and we will send you a reminder with {notice} notice before each renewal.",
    ],
    "limitation_of_liability": [
        "To the maximum extent permitted by law, {co} shall not be liable for any {damage} damages arising out of or in connection with your use of {svc}.",
        "In no event shall the aggregate liability of {co} exceed {cap}.",
        "{Svc} is provided on an 'as is' and 'as available' basis, without warranties of any kind, whether express or implied.",
        "We are not responsible for {harm} resulting from {cause}.",
        "{Co} does not accept any liability for {cause}, even if it has been advised of the possibility of such damage.",
        "Your sole and exclusive remedy for any dissatisfaction with {svc} is to stop using it.",
        "Under no circumstances will {co} or its {affiliates} be responsible for damages caused by {cause}.",
        "You use {svc} at your own risk, and {co} disclaims all liability for {harm}.",
        "Our total liability to you for all claims arising under these Terms is limited to {cap}.",
        "{Co} shall have no liability for any failure or delay in performance caused by {force}.",
        "{Co} makes no warranty that {svc} will be uninterrupted, timely, secure or error-free.",
        "We will not be liable for any third-party content, links or services accessed through {svc}.",
        "{Co} and its {affiliates} exclude all liability for {harm}, whether in contract, tort or otherwise.",
        "You agree to indemnify and hold harmless {co} and its {affiliates} from any claims arising from your use of {svc}.",
        "Any information on {svc} is provided for general purposes only, and {co} accepts no responsibility for decisions based on it.",
        "{Co} is not liable for {harm}, and its liability for any other loss is capped at {cap}.",
        "All implied warranties of merchantability, fitness for a particular purpose and non-infringement are expressly disclaimed.",
        "{Co} is not responsible for the loss of any {content} stored on {svc}, and you should keep your own backups.",
    ],
    "unilateral_termination": [
        "{Co} may suspend or terminate your account {when}.",
        "We reserve the right to refuse service, close accounts or remove {content} {when}.",
        "{Co} may discontinue your access to {svc} {when} if it believes you have {breach}.",
        "Upon termination, your right to use {svc} ceases immediately and {co} may delete your {content} without further notice.",
        "Your {plan} may be {cancelled} by {co} {when}, and no refund will be issued for the remaining term.",
        "{Co} may deactivate any account that has been inactive for {months} months, without notice to the {user_l}.",
        "We may block your access to all or part of {svc} {when}, without any liability to you.",
        "This Agreement may be terminated by {co} {when}, effective immediately upon sending notice to you.",
        "{Co} reserves the right to terminate any {plan} that it deems to be in breach of these Terms, without a refund.",
        "If {co} determines, in its sole judgement, that you have {breach}, it may terminate your account without warning.",
        "Accounts may be removed {when}, and {co} is under no obligation to retain backups of your {content}.",
        "We can stop providing {svc} to you, or any feature of it, {when}.",
        "{Co} may ban any user from {svc} {when}, including for conduct it considers inappropriate.",
        "Termination of your access to {svc} may be effected by {co} {when} and shall not give rise to any claim for compensation.",
        "{Co} may withdraw your {licence} to use {svc} {when}, and you must then uninstall all copies.",
        "Your account and all associated {content} may be permanently deleted by {co} {when}.",
    ],
    "unilateral_change": [
        "{Co} reserves the right, in its sole discretion, to modify these Terms {when}, and the revised Terms will be effective upon posting.",
        "We may change the fees for {svc} {when}; your continued use after the change constitutes acceptance of the new fees.",
        "It is your responsibility to check this page periodically, as {co} may revise these Terms without notifying you.",
        "{Co} may add, remove or modify features of {svc} {when}, without liability to you.",
        "By continuing to use {svc} after any changes are posted, you agree to be bound by the amended Terms.",
        "We may update the {doc} {when}, and the updated version applies from the date it is published.",
        "{Co} reserves the right to amend the {doc} {when}.",
        "These Terms may be revised {when}; the date of the last revision is shown at the top of this page.",
        "We may alter the storage limits, usage quotas or pricing of any {plan} {when}.",
        "{Co} may replace the {doc} with a new version, which will bind all users as soon as it appears on {svc}.",
        "Any new features added to {svc} will also be subject to these Terms, as amended by {co} from time to time.",
        "If you do not agree to the modified Terms, your only option is to stop using {svc}.",
        "{Co} may change the eligibility criteria, rewards and rules of the loyalty programme {when}.",
        "The {doc} may be amended unilaterally by {co}, and such amendments take effect without your further consent.",
        "We may reassign your {plan} to a different pricing tier {when} if we restructure our offering.",
        "Continued access to {svc} after {co} publishes changes to the {doc} means that you accept those changes.",
    ],
    "jurisdiction": [
        "These Terms shall be governed by and construed in accordance with {law}, without regard to its conflict of law principles.",
        "Any dispute arising out of or relating to these Terms shall be subject to the exclusive jurisdiction of {courts}.",
        "You agree to submit to the personal jurisdiction of {courts} for the purpose of litigating any such claim.",
        "All disputes shall be finally resolved by binding arbitration administered by {arb}, seated in {seat}.",
        "The place of arbitration shall be {seat}, and the proceedings shall be conducted in English.",
        "Any claim or cause of action against {co} must be filed in {courts} within one year after it arose.",
        "You and {co} agree that any legal proceedings will be brought only in {courts}.",
        "This Agreement is governed by {law}, and {courts} shall have exclusive jurisdiction over any dispute.",
        "You waive any objection to venue in {courts}, including on the grounds of an inconvenient forum.",
        "Disputes that cannot be settled amicably within {days} shall be referred to {courts}.",
        "You agree that disputes will be resolved on an individual basis in {seat}, and you waive any right to a class action.",
        "The validity, interpretation and performance of these Terms are governed exclusively by {law}.",
        "Any controversy relating to {svc} shall be referred to arbitration by {arb}, whose award shall be final and binding.",
        "The parties irrevocably agree that {courts} are the proper forum for any proceedings concerning {svc}.",
        "Questions concerning the construction of this Agreement shall be determined under {law}, and venue shall lie in {seat}.",
    ],
}

# Phrasing that could belong to several clause types: keyed by the labels it is plausible for.
LEGAL_SHARED: list[tuple[set[str], str]] = [
    ({"unilateral_termination", "unilateral_change"}, "{Co} may modify, suspend or discontinue {svc}, or any part of it, {when}."),
    ({"unilateral_termination", "unilateral_change"}, "We reserve the right to change or end your {plan} {when}."),
    ({"unilateral_termination", "unilateral_change"}, "{Co} may take any action it considers appropriate in relation to your account {when}."),
    ({"unilateral_termination", "unilateral_change"}, "Features, content and access levels of any {plan} may be revised or withdrawn by {co}."),
    ({"limitation_of_liability", "unilateral_termination"}, "{Co} will not be liable to you or any third party for any suspension or termination of your access to {svc}."),
    ({"limitation_of_liability", "unilateral_termination"}, "Upon termination, {co} shall have no further obligation to you in respect of {svc}."),
    ({"limitation_of_liability", "unilateral_change"}, "{Co} shall not be liable for any modification, price change or discontinuance of {svc}."),
    ({"limitation_of_liability", "unilateral_change"}, "We are not responsible if changes to {svc} mean that it no longer meets your needs."),
    ({"fair", "jurisdiction"}, "If you are a consumer, you may also bring proceedings in the courts of the country where you live."),
    ({"fair", "jurisdiction"}, "Nothing in this section prevents you from contacting a consumer authority in {region}."),
    ({"fair", "jurisdiction"}, "These Terms are subject to {law}, but you keep any protection given by the mandatory law of your place of residence."),
    ({"fair", "limitation_of_liability"}, "Nothing in these Terms excludes liability for death or personal injury caused by negligence, or for fraud."),
    ({"fair", "limitation_of_liability"}, "We are responsible for loss that is a foreseeable result of our breach of these Terms."),
    ({"fair", "limitation_of_liability"}, "{Co} is liable for damage to your device caused by defective digital content supplied by us."),
    ({"fair", "unilateral_change"}, "We may update these Terms from time to time and will let you know about material changes."),
    ({"fair", "unilateral_change"}, "Changes to these Terms will be posted on this page together with the date they take effect."),
    ({"fair", "unilateral_termination"}, "Either party may terminate this agreement in accordance with this section."),
    ({"fair", "unilateral_termination"}, "Accounts that have been inactive for {months} months may be closed after a reminder email."),
    ({"fair", "unilateral_termination"}, "You or {co} may end the {plan} by giving the other {notice} notice."),
    ({"jurisdiction", "limitation_of_liability"}, "Any claim against {co} must be brought within one year, after which it is permanently barred."),
    (set(LEGAL_LABELS), "The provisions of this section apply to your use of {svc} in {region}."),
    (set(LEGAL_LABELS), "This clause should be read together with the {doc} and the rest of these Terms."),
]
LEGAL_NEUTRAL = [  # a short sentence that can follow any clause
    "This applies to all users of {svc} in {region}.",
    "For the purposes of this section, {svc} includes any related mobile applications.",
    "Capitalised terms have the meanings given to them in Section 1.",
    "This section survives the expiry or termination of these Terms.",
    "References to {co} include its successors and permitted assigns.",
]
LEGAL_NEIGHBOURS = {
    "fair": ["unilateral_change", "limitation_of_liability"],
    "limitation_of_liability": ["fair", "unilateral_termination"],
    "unilateral_termination": ["unilateral_change"],
    "unilateral_change": ["unilateral_termination", "fair"],
    "jurisdiction": ["fair", "limitation_of_liability"],
}


def legal_slots(group: str) -> Slots:
    slots = merge(LEGAL_SLOTS, LEGAL_BY_GROUP[group])
    slots["user_l"] = [u[4:].lower() for u in LEGAL_SLOTS["user"]]
    return slots


def legal_text(rng: random.Random, label: str, group: str, shared: bool) -> str:
    slots = legal_slots(group)
    chosen: dict[str, str] = {}
    if shared:
        text = fill(rng, rng.choice([t for labels, t in LEGAL_SHARED if label in labels]), slots, chosen)
        if rng.random() < 0.3:
            text += " " + fill(rng, rng.choice(LEGAL_NEUTRAL), slots, chosen)
    else:
        first, second = rng.sample(LEGAL[label], 2)
        text = fill(rng, first, slots, chosen)
        r = rng.random()
        if r < 0.3:
            text += " " + fill(rng, second, slots, chosen)
        elif r < 0.45:
            text += " " + fill(rng, rng.choice(LEGAL_NEUTRAL), slots, chosen)
    if rng.random() < 0.35:
        text = fill(rng, "{sec}.{sub} ", slots) + text
    return text


# --------------------------------------------------------------------------------------------
# Healthcare: short clinical notes and abstract sentences, grouped by patient age band
# --------------------------------------------------------------------------------------------

HEALTH_LABELS = {"cardiovascular": 90, "respiratory": 90, "neurological": 90, "digestive": 90}
HEALTH_GROUPS = ["adult", "older_adult", "paediatric"]

HEALTH_SLOTS: Slots = {
    "dur": ["two days", "three days", "a week", "ten days", "two weeks", "three weeks", "a month",
            "six weeks", "several months", "48 hours", "24 hours", "four months"],
    "n": ["48", "62", "75", "103", "118", "140", "186", "212", "257", "310", "420", "512"],
    "test": ["blood tests", "baseline observations", "routine bloods", "the initial work-up",
             "first-line investigations", "screening tests"],
    "soft_tx": ["rest and fluids", "simple analgesia", "supportive care", "watchful waiting",
                "reassurance and safety-netting advice"],
    "outcome": ["fewer readmissions at 30 days", "a shorter length of stay", "improved symptom scores",
                "lower mortality at one year", "faster return to usual activities"],
}


def aged(n: str, who: str, unit: str = "year") -> str:
    article = "an" if n.startswith("8") or n in ("11", "18") else "a"
    return f"{article} {n}-{unit}-old {who}"


HEALTH_BY_GROUP: dict[str, Slots] = {
    "adult": {
        "pt": [aged(a, s) for a, s in itertools.product(
            ["24", "29", "33", "37", "41", "44", "48", "52", "56", "59"], ["man", "woman"])]
        + [aged("31", "office worker"), aged("46", "teacher"), aged("38", "construction worker"),
           aged("53", "bus driver")],
        "cohort": ["adults aged 18 to 64", "working-age adults", "adult outpatients"],
        "popul": ["young adults", "middle-aged adults", "working-age patients"],
        "context": ["is a smoker of 20 pack-years", "has no significant past medical history",
                    "works night shifts", "has a family history of early heart disease",
                    "drinks about 30 units of alcohol a week", "takes no regular medication"],
    },
    "older_adult": {
        "pt": [aged(a, s) for a, s in itertools.product(
            ["67", "71", "74", "78", "81", "83", "86", "89", "92"], ["man", "woman"])]
        + [aged("80", "care-home resident"), aged("76", "retired teacher"), aged("69", "retired farmer")],
        "cohort": ["patients aged 65 and over", "older adults living in the community", "care-home residents"],
        "popul": ["older adults", "frail elderly patients", "people over 75"],
        "context": ["lives alone and uses a walking frame", "has mild cognitive impairment",
                    "takes eleven regular medications", "has had two falls this year",
                    "has chronic kidney disease stage 3", "is cared for by a spouse"],
    },
    "paediatric": {
        "pt": [aged(a, s) for a, s in itertools.product(["3", "4", "5", "6", "7", "8", "9", "11", "13"], ["boy", "girl"])]
        + [aged("15", "adolescent"), aged("16", "adolescent"), "a school-age child"],
        "cohort": ["children under 16", "infants and toddlers", "school-age children",
                   "children attending the paediatric emergency department"],
        "popul": ["young children", "infants", "school-age children", "adolescents"],
        "context": ["was born at term and is fully immunised", "attends nursery", "was brought in by a parent",
                    "has an older sibling with similar symptoms", "is meeting developmental milestones",
                    "was seen by the school nurse earlier in the week"],
    },
}

A, O, P = "adult", "older_adult", "paediatric"
ALL = (A, O, P)


def condition(dx: str, groups: tuple[str, ...], **terms: list[str]) -> tuple[str, tuple[str, ...], Slots]:
    return dx, groups, {"dx": [dx], **terms}


# Conditions per label: the age bands they occur in and the symptoms, signs, investigations,
# treatments and teams that go with them, so that a note stays clinically coherent.
HEALTH_CONDITIONS: dict[str, list[tuple[str, tuple[str, ...], Slots]]] = {
    "cardiovascular": [
        condition("atrial fibrillation", (A, O),
                  sym=["palpitations", "an irregular heartbeat and breathlessness", "episodes of a racing heartbeat"],
                  sign=["an irregularly irregular pulse of 130 beats per minute", "an irregular pulse with a pulse deficit"],
                  inv=["the ECG showed atrial fibrillation with a rapid ventricular response",
                       "Holter monitoring captured paroxysms of atrial fibrillation"],
                  tx=["a beta-blocker and anticoagulation", "apixaban and bisoprolol", "electrical cardioversion"],
                  spec=["the cardiology team", "the arrhythmia clinic"]),
        condition("an acute myocardial infarction", (A, O),
                  sym=["crushing central chest pain radiating to the left arm", "central chest pain with sweating"],
                  sign=["cold peripheries and a blood pressure of 92/60 mmHg", "a new apical systolic murmur"],
                  inv=["the ECG showed ST-segment elevation in the inferior leads",
                       "high-sensitivity troponin rose from 40 to 2,300 ng/L"],
                  tx=["primary percutaneous coronary intervention", "dual antiplatelet therapy and a statin"],
                  spec=["the coronary care team", "the cardiology team"]),
        condition("heart failure", (A, O),
                  sym=["swelling of both ankles and breathlessness when lying flat", "waking at night gasping for breath"],
                  sign=["raised jugular venous pressure and a third heart sound", "bilateral pitting oedema to the knees"],
                  inv=["echocardiography showed an ejection fraction of 30%", "NT-proBNP was markedly raised"],
                  tx=["intravenous furosemide", "an ACE inhibitor, a beta-blocker and a diuretic"],
                  spec=["the heart failure service", "the cardiology team"]),
        condition("aortic stenosis", (O,),
                  sym=["chest tightness and light-headedness on exertion", "exertional chest pain and reduced stamina"],
                  sign=["an ejection systolic murmur radiating to the carotids", "a slow-rising pulse"],
                  inv=["echocardiography showed a calcified aortic valve with a mean gradient of 48 mmHg"],
                  tx=["transcatheter aortic valve implantation", "surgical aortic valve replacement"],
                  spec=["the structural heart team"]),
        condition("complete heart block", (O,),
                  sym=["recurrent blackouts and tiredness", "a very slow pulse noticed on a home monitor"],
                  sign=["a regular pulse of 34 beats per minute", "cannon waves in the jugular venous pulse"],
                  inv=["the ECG showed complete heart block with a broad escape rhythm"],
                  tx=["a permanent pacemaker"], spec=["the cardiology team", "the pacing clinic"]),
        condition("hypertension", (A, O),
                  sym=["raised blood pressure readings at home", "morning headaches and high home blood pressure readings"],
                  sign=["a blood pressure of 178/104 mmHg", "a displaced, heaving apex beat"],
                  inv=["the ECG showed left ventricular hypertrophy",
                       "ambulatory monitoring showed an average blood pressure of 162/98 mmHg"],
                  tx=["amlodipine", "an ACE inhibitor and lifestyle advice"], spec=["the hypertension clinic"]),
        condition("a deep vein thrombosis", (A, O),
                  sym=["a painful, swollen left calf", "swelling of one leg after a long-haul flight"],
                  sign=["a left calf 4 cm larger than the right", "pitting oedema and tenderness along the deep veins"],
                  inv=["Doppler ultrasound showed a thrombus in the popliteal vein"],
                  tx=["rivaroxaban for three months", "low-molecular-weight heparin"], spec=["the thrombosis clinic"]),
        condition("pericarditis", ALL,
                  sym=["sharp chest pain relieved by sitting forward", "chest pain that worsened on lying flat after a cold"],
                  sign=["a pericardial friction rub"],
                  inv=["the ECG showed widespread saddle-shaped ST elevation", "echocardiography showed a small pericardial effusion"],
                  tx=["ibuprofen and colchicine", "anti-inflammatory treatment and rest"], spec=["the cardiology team"]),
        condition("supraventricular tachycardia", ALL,
                  sym=["sudden episodes of a pounding heartbeat", "palpitations that start and stop abruptly"],
                  sign=["a regular narrow-complex tachycardia at 210 beats per minute"],
                  inv=["the ECG showed a narrow-complex tachycardia that terminated with adenosine",
                       "an event recorder captured a regular tachycardia at 190 beats per minute"],
                  tx=["vagal manoeuvres and adenosine", "catheter ablation"], spec=["the arrhythmia clinic"]),
        condition("myocarditis", (A, P),
                  sym=["chest pain and palpitations a week after a viral illness"],
                  sign=["a resting heart rate of 125 and a gallop rhythm"],
                  inv=["cardiac MRI showed patchy late gadolinium enhancement", "troponin was raised on two samples"],
                  tx=["supportive treatment and restriction of exercise"], spec=["the cardiology team"]),
        condition("Kawasaki disease", (P,),
                  sym=["persistent fever with red eyes and cracked lips", "fever, a widespread rash and swollen hands"],
                  sign=["cervical lymphadenopathy and peeling skin on the fingertips", "a strawberry tongue"],
                  inv=["echocardiography showed dilated coronary arteries"],
                  tx=["intravenous immunoglobulin and aspirin"], spec=["the paediatric cardiology team"],
                  pt=["a 2-year-old boy", "a 3-year-old girl", "a 4-year-old boy", "an 18-month-old infant"]),
        condition("a ventricular septal defect", (P,),
                  sym=["sweating and tiring during feeds", "poor weight gain and fast breathing during feeds"],
                  sign=["a loud pansystolic murmur at the left sternal edge"],
                  inv=["echocardiography showed a perimembranous ventricular septal defect"],
                  tx=["diuretics followed by surgical closure"], spec=["the paediatric cardiology team"],
                  pt=["a 3-month-old infant", "a 5-month-old infant", "an 8-month-old infant", "a 6-week-old boy"]),
        condition("coarctation of the aorta", (P,),
                  sym=["leg pain on running and headaches", "high blood pressure found at a school medical"],
                  sign=["weak, delayed femoral pulses and upper-limb hypertension"],
                  inv=["echocardiography showed narrowing of the aortic isthmus"],
                  tx=["balloon angioplasty with stenting"], spec=["the paediatric cardiology team"]),
    ],
    "respiratory": [
        condition("community-acquired pneumonia", ALL,
                  sym=["a productive cough with green sputum and fever", "fever, rigors and pleuritic chest pain"],
                  sign=["coarse crackles and bronchial breathing at the right base", "dullness to percussion at the left base"],
                  inv=["chest X-ray showed consolidation in the right lower lobe", "sputum culture grew Streptococcus pneumoniae"],
                  tx=["oral amoxicillin", "intravenous co-amoxiclav and clarithromycin"],
                  spec=["the respiratory team", "the acute medical team"]),
        condition("asthma", (A, P),
                  sym=["wheeze and a night-time cough", "breathlessness and wheeze triggered by cold air and exercise"],
                  sign=["widespread expiratory wheeze", "a peak flow of 55% of predicted"],
                  inv=["spirometry showed reversible airflow obstruction", "peak flow varied by more than 20% over two weeks"],
                  tx=["an inhaled corticosteroid", "nebulised salbutamol and oral prednisolone"], spec=["the asthma clinic"]),
        condition("an exacerbation of COPD", (O,),
                  sym=["increasing breathlessness and sputum volume", "a chronic cough that had recently worsened"],
                  sign=["a barrel chest and prolonged expiration", "an oxygen saturation of 86% on room air"],
                  inv=["arterial blood gas showed type 2 respiratory failure", "spirometry showed an FEV1/FVC ratio of 0.58"],
                  tx=["non-invasive ventilation", "nebulised bronchodilators and a course of steroids"],
                  spec=["the respiratory ward team", "the COPD outreach team"]),
        condition("idiopathic pulmonary fibrosis", (O,),
                  sym=["a dry cough and slowly progressive breathlessness"],
                  sign=["fine end-inspiratory crackles and finger clubbing"],
                  inv=["high-resolution CT showed honeycombing at both lung bases"],
                  tx=["antifibrotic therapy with nintedanib"], spec=["the interstitial lung disease clinic"]),
        condition("lung cancer", (O, A),
                  sym=["coughing up blood and weight loss", "a persistent cough and hoarse voice"],
                  sign=["reduced breath sounds over the left upper zone"],
                  inv=["CT of the chest revealed a 3 cm spiculated mass in the left upper lobe",
                       "bronchoscopy confirmed a squamous cell carcinoma"],
                  tx=["a left upper lobectomy", "chemoradiotherapy"], spec=["the lung cancer team"]),
        condition("a pulmonary embolism", (A, O),
                  sym=["sudden pleuritic chest pain and breathlessness", "breathlessness and coughing up streaks of blood"],
                  sign=["a respiratory rate of 28 and an oxygen saturation of 91%"],
                  inv=["CT pulmonary angiography showed a filling defect in the right pulmonary artery"],
                  tx=["low-molecular-weight heparin followed by apixaban"], spec=["the respiratory team"]),
        condition("a spontaneous pneumothorax", (A, P),
                  sym=["sudden one-sided chest pain and breathlessness"],
                  sign=["absent breath sounds and hyper-resonance on the left"],
                  inv=["chest X-ray showed a large left-sided pneumothorax"],
                  tx=["needle aspiration", "a chest drain"], spec=["the respiratory team"]),
        condition("obstructive sleep apnoea", (A,),
                  sym=["loud snoring and daytime sleepiness", "waking unrefreshed with morning headaches and snoring"],
                  sign=["a neck circumference of 45 cm and a crowded oropharynx"],
                  inv=["a sleep study showed 38 apnoeas per hour"], tx=["CPAP at night"], spec=["the sleep clinic"]),
        condition("pulmonary tuberculosis", (A, O),
                  sym=["a persistent cough with night sweats", "weight loss, night sweats and a chronic cough"],
                  sign=["crackles at the right apex"],
                  inv=["sputum was positive for acid-fast bacilli", "chest X-ray showed cavitation in the right upper lobe"],
                  tx=["six months of rifampicin and isoniazid, with pyrazinamide and ethambutol for the first two"],
                  spec=["the TB service"]),
        condition("bronchiolitis", (P,),
                  sym=["a runny nose followed by cough and fast breathing", "cough, noisy breathing and reduced feeds"],
                  sign=["subcostal recession and widespread fine crackles", "nasal flaring and a respiratory rate of 64"],
                  inv=["a nasopharyngeal swab was positive for RSV"],
                  tx=["nasal suction and high-flow nasal oxygen"], spec=["the paediatric team"],
                  pt=["a 3-month-old infant", "a 5-month-old infant", "an 8-month-old infant", "a 7-week-old girl"]),
        condition("croup", (P,),
                  sym=["a barking cough and stridor at night", "a hoarse voice and barking cough after a cold"],
                  sign=["inspiratory stridor at rest"], inv=["oxygen saturation was 96% on room air"],
                  tx=["a single dose of oral dexamethasone"], spec=["the paediatric emergency team"],
                  pt=["a 2-year-old boy", "a 3-year-old girl", "an 18-month-old infant", "a 4-year-old boy"]),
        condition("cystic fibrosis", (P,),
                  sym=["recurrent chest infections and a persistent wet cough"],
                  sign=["finger clubbing and coarse crackles"], inv=["a sweat chloride test was positive"],
                  tx=["airway clearance physiotherapy and dornase alfa"], spec=["the cystic fibrosis team"]),
        condition("viral-induced wheeze", (P,),
                  sym=["wheeze with every cold", "fast breathing and wheeze two days into a cold"],
                  sign=["widespread expiratory wheeze and mild recession"], inv=["oxygen saturation was 93% on room air"],
                  tx=["salbutamol through a spacer"], spec=["the paediatric respiratory clinic"],
                  pt=["a 2-year-old girl", "a 3-year-old boy", "a 14-month-old infant"]),
        condition("aspiration pneumonia", (O,),
                  sym=["coughing during meals followed by fever", "fever and a wet cough after a choking episode"],
                  sign=["crackles at the right base"], inv=["chest X-ray showed right lower lobe consolidation"],
                  tx=["intravenous antibiotics and a swallowing assessment"], spec=["the respiratory team"]),
    ],
    "neurological": [
        condition("an ischaemic stroke", (A, O),
                  sym=["sudden weakness of the right arm and leg with slurred speech", "facial droop and difficulty finding words"],
                  sign=["a right-sided hemiparesis and expressive dysphasia", "a left facial droop and left arm drift"],
                  inv=["CT of the head showed an acute infarct in the left middle cerebral artery territory"],
                  tx=["thrombolysis with alteplase", "mechanical thrombectomy"], spec=["the stroke team"]),
        condition("a transient ischaemic attack", (A, O),
                  sym=["an episode of left arm numbness that fully resolved", "a brief episode of loss of vision in one eye"],
                  sign=["no residual focal deficit"],
                  inv=["carotid Doppler showed a 75% stenosis of the right internal carotid artery"],
                  tx=["clopidogrel and a statin"], spec=["the TIA clinic"]),
        condition("migraine with aura", (A, P),
                  sym=["a throbbing one-sided headache preceded by zigzag lines in the vision",
                       "recurrent headaches with nausea and flashing lights"],
                  sign=["no focal neurological signs"], inv=["MRI of the brain was normal"],
                  tx=["a triptan", "propranolol prophylaxis"], spec=["the headache clinic"]),
        condition("epilepsy", ALL,
                  sym=["two episodes of jerking of all four limbs with tongue biting", "a generalised seizure while asleep"],
                  sign=["a bite mark on the side of the tongue"], inv=["EEG showed generalised spike-and-wave discharges"],
                  tx=["levetiracetam", "lamotrigine"], spec=["the epilepsy clinic"]),
        condition("multiple sclerosis", (A,),
                  sym=["blurred vision in one eye with pain on eye movement", "tingling that spread up both legs"],
                  sign=["a relative afferent pupillary defect", "brisk reflexes and an upgoing plantar response"],
                  inv=["MRI of the brain showed multiple periventricular white matter lesions",
                       "oligoclonal bands were present in the CSF"],
                  tx=["high-dose methylprednisolone", "a disease-modifying therapy"], spec=["the MS clinic"]),
        condition("Guillain-Barré syndrome", (A,),
                  sym=["weakness ascending from the feet after a diarrhoeal illness"],
                  sign=["absent reflexes in all four limbs"],
                  inv=["nerve conduction studies showed a demyelinating neuropathy",
                       "lumbar puncture showed a raised protein with a normal cell count"],
                  tx=["intravenous immunoglobulin"], spec=["the neurology team"]),
        condition("bacterial meningitis", ALL,
                  sym=["fever, headache and a stiff neck", "fever, drowsiness and a spreading rash"],
                  sign=["neck stiffness and photophobia"],
                  inv=["lumbar puncture showed turbid CSF with a high neutrophil count"],
                  tx=["intravenous ceftriaxone"], spec=["the neurology team", "the infectious diseases team"]),
        condition("Parkinson's disease", (O,),
                  sym=["a tremor of the right hand at rest and slowness of movement", "small handwriting and a shuffling walk"],
                  sign=["a resting tremor and cogwheel rigidity", "a shuffling gait with reduced arm swing"],
                  inv=["a DaTscan showed reduced uptake in the left putamen"],
                  tx=["levodopa"], spec=["the movement disorders clinic"]),
        condition("Alzheimer's disease", (O,),
                  sym=["progressive memory loss and getting lost in familiar places", "repeating questions and missing appointments"],
                  sign=["a Montreal Cognitive Assessment score of 18/30"],
                  inv=["MRI of the brain showed bilateral hippocampal atrophy"],
                  tx=["donepezil"], spec=["the memory clinic"]),
        condition("a chronic subdural haematoma", (O,),
                  sym=["increasing confusion and headache weeks after a fall"],
                  sign=["a mild left-sided weakness"], inv=["CT of the head showed a right-sided crescentic collection"],
                  tx=["burr-hole drainage"], spec=["the neurosurgical team"]),
        condition("peripheral neuropathy", (A, O),
                  sym=["numbness and tingling in both feet", "burning pain in the feet at night"],
                  sign=["reduced sensation in a glove-and-stocking distribution", "absent ankle reflexes"],
                  inv=["nerve conduction studies showed an axonal sensorimotor neuropathy"],
                  tx=["amitriptyline at night", "pregabalin"], spec=["the neurology clinic"]),
        condition("a febrile seizure", (P,),
                  sym=["a two-minute generalised seizure during a high fever"],
                  sign=["no focal neurological signs once fully awake"], inv=["blood glucose was normal after the seizure"],
                  tx=["antipyretics and advice for the parents"], spec=["the paediatric team"],
                  pt=["a 2-year-old boy", "a 3-year-old girl", "an 18-month-old infant", "a 14-month-old infant"]),
        condition("childhood absence epilepsy", (P,),
                  sym=["frequent brief staring spells at school", "daydreaming episodes noticed by teachers"],
                  sign=["an absence provoked by hyperventilation"], inv=["EEG showed 3 Hz spike-and-wave discharges"],
                  tx=["ethosuximide"], spec=["the paediatric neurology clinic"],
                  pt=["a 6-year-old girl", "a 7-year-old boy", "a 9-year-old girl", "a school-age child"]),
        condition("cerebral palsy", (P,),
                  sym=["delayed walking and stiffness of both legs"],
                  sign=["increased tone and brisk reflexes in the lower limbs"],
                  inv=["MRI of the brain showed periventricular leukomalacia"],
                  tx=["physiotherapy and botulinum toxin injections"], spec=["the paediatric neurodisability team"]),
        condition("a concussion", (A, P),
                  sym=["headache and confusion after a head injury playing football"],
                  sign=["a Glasgow Coma Scale score of 14"], inv=["CT of the head showed no bleeding"],
                  tx=["a graduated return to activity"], spec=["the head injury clinic"],
                  pt=["a 12-year-old boy", "a 14-year-old girl", "a 16-year-old adolescent", "a 24-year-old man",
                      "a 31-year-old woman", "a 19-year-old man"]),
    ],
    "digestive": [
        condition("acute appendicitis", (A, P),
                  sym=["pain that moved from the umbilicus to the right lower abdomen",
                       "right lower abdominal pain with loss of appetite"],
                  sign=["tenderness and guarding in the right iliac fossa"],
                  inv=["ultrasound showed a non-compressible appendix",
                       "CT showed an inflamed appendix with surrounding fat stranding"],
                  tx=["a laparoscopic appendicectomy"], spec=["the surgical team"]),
        condition("ulcerative colitis", (A,),
                  sym=["bloody diarrhoea up to eight times a day", "urgency and bloody stools"],
                  sign=["mild lower abdominal tenderness"],
                  inv=["colonoscopy showed continuous inflammation from the rectum to the splenic flexure"],
                  tx=["mesalazine", "a course of oral steroids"], spec=["the inflammatory bowel disease clinic"]),
        condition("Crohn's disease", (A, P),
                  sym=["abdominal pain, diarrhoea and weight loss", "mouth ulcers and cramping abdominal pain"],
                  sign=["a tender mass in the right iliac fossa"],
                  inv=["MR enterography showed terminal ileal thickening", "faecal calprotectin was raised"],
                  tx=["exclusive enteral nutrition", "azathioprine"], spec=["the inflammatory bowel disease clinic"]),
        condition("acute pancreatitis", (A,),
                  sym=["severe epigastric pain radiating to the back with vomiting"],
                  sign=["epigastric tenderness and guarding"],
                  inv=["serum lipase was more than three times the upper limit of normal"],
                  tx=["intravenous fluids and analgesia"], spec=["the surgical team"]),
        condition("gastro-oesophageal reflux disease", (A, O),
                  sym=["heartburn and acid regurgitation after meals", "a sour taste in the mouth and heartburn at night"],
                  sign=["mild epigastric tenderness"], inv=["upper endoscopy showed grade B oesophagitis"],
                  tx=["a proton pump inhibitor"], spec=["the gastroenterology clinic"]),
        condition("a bleeding duodenal ulcer", (A, O),
                  sym=["vomiting blood and passing black stools"], sign=["melaena on rectal examination"],
                  inv=["upper endoscopy revealed a duodenal ulcer with a visible vessel"],
                  tx=["endoscopic clipping and an intravenous proton pump inhibitor"], spec=["the endoscopy team"]),
        condition("acute cholecystitis", (A, O),
                  sym=["right upper abdominal pain after fatty food with fever"], sign=["a positive Murphy's sign"],
                  inv=["ultrasound showed gallstones with a thickened gallbladder wall"],
                  tx=["a laparoscopic cholecystectomy"], spec=["the general surgical team"]),
        condition("alcoholic hepatitis", (A,),
                  sym=["yellowing of the skin and eyes after a period of heavy drinking"],
                  sign=["jaundice and tender hepatomegaly"],
                  inv=["liver function tests showed a bilirubin of 180 micromol/L"],
                  tx=["prednisolone and nutritional support"], spec=["the hepatology team"]),
        condition("diverticulitis", (O,),
                  sym=["left lower abdominal pain and fever"], sign=["tenderness in the left iliac fossa"],
                  inv=["CT of the abdomen showed sigmoid diverticulitis with a small abscess"],
                  tx=["intravenous antibiotics"], spec=["the general surgical team"]),
        condition("colorectal cancer", (O,),
                  sym=["a change in bowel habit, rectal bleeding and weight loss"], sign=["a palpable rectal mass"],
                  inv=["colonoscopy showed an ulcerating tumour in the sigmoid colon"],
                  tx=["a high anterior resection"], spec=["the colorectal cancer team"]),
        condition("small bowel obstruction", (O,),
                  sym=["colicky abdominal pain, vomiting and absolute constipation"],
                  sign=["a distended abdomen with tinkling bowel sounds"],
                  inv=["CT showed dilated small bowel loops with a transition point"],
                  tx=["a nasogastric tube and intravenous fluids"], spec=["the surgical team"]),
        condition("intussusception", (P,),
                  sym=["episodes of screaming and drawing up the legs", "intermittent abdominal pain and redcurrant jelly stools"],
                  sign=["a sausage-shaped mass in the right upper abdomen"],
                  inv=["ultrasound showed a target sign in the right upper quadrant"],
                  tx=["air enema reduction"], spec=["the paediatric surgical team"],
                  pt=["an 8-month-old infant", "an 11-month-old infant", "a 14-month-old infant", "a 2-year-old boy"]),
        condition("viral gastroenteritis", (A, P),
                  sym=["vomiting and watery diarrhoea", "diarrhoea and cramps after a family meal"],
                  sign=["mild dehydration with dry mucous membranes"], inv=["a stool sample was positive for norovirus"],
                  tx=["oral rehydration solution"], spec=["the emergency team"]),
        condition("coeliac disease", (A, P),
                  sym=["poor weight gain and loose pale stools", "bloating and chronic diarrhoea"],
                  sign=["a distended abdomen and wasted buttocks", "mild pallor and a distended abdomen"],
                  inv=["tissue transglutaminase antibodies were strongly positive",
                       "duodenal biopsies showed villous atrophy"],
                  tx=["a gluten-free diet"], spec=["the gastroenterology clinic"]),
        condition("pyloric stenosis", (P,),
                  sym=["projectile vomiting after every feed"], sign=["an olive-shaped mass in the epigastrium"],
                  inv=["ultrasound showed a thickened pyloric muscle"],
                  tx=["a pyloromyotomy"], spec=["the paediatric surgical team"],
                  pt=["a 5-week-old boy", "a 6-week-old boy", "a 4-week-old girl"]),
    ],
}

# Words any note about the label may use, whatever the condition.
HEALTH_SYSTEM: dict[str, Slots] = {
    "cardiovascular": {
        "system": ["cardiac", "cardiovascular"],
        "spec": ["cardiology", "the cardiology team", "the cardiology clinic"],
        "sign": ["a heart rate of 112 beats per minute", "a blood pressure of 150/95 mmHg"],
        "inv": ["a 12-lead ECG and an echocardiogram were requested", "cardiac monitoring was started",
                "the ECG and cardiac enzymes were abnormal"],
    },
    "respiratory": {
        "system": ["respiratory", "pulmonary"],
        "spec": ["respiratory medicine", "the respiratory team", "the chest clinic"],
        "sign": ["a respiratory rate of 26 and reduced air entry", "an oxygen saturation of 92% on room air"],
        "inv": ["a chest X-ray and sputum samples were requested", "a chest X-ray was abnormal",
                "lung function tests were arranged"],
    },
    "neurological": {
        "system": ["neurological", "central nervous system"],
        "spec": ["neurology", "the neurology team", "the neurology clinic"],
        "sign": ["an abnormal neurological examination", "abnormal findings on neurological examination"],
        "inv": ["brain imaging was requested", "a CT head scan and neurological observations were arranged",
                "neurophysiology studies were requested"],
    },
    "digestive": {
        "system": ["gastrointestinal", "digestive"],
        "spec": ["gastroenterology", "the gastroenterology team", "the GI clinic"],
        "sign": ["a soft but tender abdomen", "abdominal tenderness on palpation"],
        "inv": ["liver function tests and an abdominal ultrasound were requested", "abdominal imaging was arranged",
                "stool samples and abdominal imaging were requested"],
    },
}

HEALTH: list[str] = [  # note-style and abstract-style sentences; the label lives in the condition's terms
    "{Pt} presented with {sym} for {dur}.",
    "{Pt} presented with {sym} for {dur}; on examination there was {sign}.",
    "On examination there was {sign}, and {inv}.",
    "{Pt} was seen by {spec} after {dur} of {sym}.",
    "{Inv}, consistent with {dx}.",
    "{Pt} with {dx} was managed with {tx} and reviewed by {spec} after {dur}.",
    "Referred to {spec}: {pt} with {sym} for {dur}.",
    "Impression: {dx}. Plan: {tx} and review by {spec}.",
    "{Pt} has had {sym}; {inv}.",
    "We report {pt} with {dx} who presented with {sym}.",
    "In this retrospective cohort of {n} {cohort} with {dx}, {tx} was associated with {outcome}.",
    "This case shows that {sym} in {popul} may be the first sign of {dx}.",
    "Early recognition of {dx} in {popul} allows timely treatment with {tx}.",
    "{Pt} was found to have {sign}; {inv}, and a diagnosis of {dx} was made.",
    "{Pt}, who {context}, was seen by {spec} with {sym}.",
    "History: {sym} for {dur}. Exam: {sign}.",
    "We studied {n} {cohort} referred to {spec}; the most common diagnosis was {dx}.",
    "{Pt} developed {sym}, and {inv}.",
    "Discharge summary: {dx}, managed with {tx}.",
    "{Pt} was referred for {system} assessment with {sym}.",
    "Past history of {system} disease; now {sym} for {dur}.",
    "{Pt} treated with {tx} was much improved at review after {dur}.",
]
HEALTH_SECOND: list[str] = [  # follow-on sentences about the same patient and condition
    "On examination there was {sign}.",
    "{Inv}.",
    "Management was {tx}, with follow-up by {spec}.",
    "The working diagnosis was {dx}.",
    "The patient {context}.",
    "A {system} cause was suspected.",
    "Further {system} investigations were arranged.",
    "Follow-up was arranged with {spec}.",
]

# Symptoms that point to more than one system: the labels they are plausible for, the age bands
# they are written for, and the phrases.
HEALTH_AMBIGUOUS: list[tuple[set[str], tuple[str, ...], list[str]]] = [
    ({"cardiovascular", "respiratory"}, (A, O), ["breathlessness on exertion", "chest tightness",
                                                 "reduced exercise tolerance", "a cough and swollen ankles"]),
    ({"cardiovascular", "respiratory"}, (P,), ["fast breathing and sweating", "breathlessness when running",
                                               "a blue tinge around the lips"]),
    ({"cardiovascular", "neurological"}, ALL, ["dizziness", "a brief loss of consciousness", "a sudden collapse",
                                               "episodes of light-headedness"]),
    ({"cardiovascular", "neurological"}, (A, O), ["blurred vision and headache", "a fall with a brief blackout"]),
    ({"cardiovascular", "digestive"}, (A, O), ["burning pain behind the breastbone", "nausea and sweating",
                                               "upper abdominal discomfort after exertion"]),
    ({"cardiovascular", "digestive"}, (P,), ["poor weight gain", "sweating and vomiting during feeds"]),
    ({"neurological", "digestive"}, ALL, ["persistent vomiting", "headache and nausea", "lethargy and vomiting",
                                          "abdominal pain with drowsiness"]),
    ({"respiratory", "digestive"}, ALL, ["fever and vomiting", "a chronic cough after meals", "poor appetite and fever"]),
    ({"cardiovascular", "respiratory", "neurological", "digestive"}, ALL, ["fatigue", "fever and malaise",
                                                                          "general malaise"]),
    ({"cardiovascular", "respiratory", "neurological", "digestive"}, (A, O), ["unintentional weight loss"]),
    ({"cardiovascular", "respiratory", "neurological", "digestive"}, (P,), ["poor feeding and irritability",
                                                                          "being floppy and unsettled"]),
]
HEALTH_SHARED: list[str] = [
    "{Pt} presented with {amb} for {dur}; {test} were unremarkable.",
    "{Pt} complained of {amb} and was referred for further investigation.",
    "Referred with {amb} over {dur}; the differential diagnosis remains broad.",
    "{Pt} reported {amb}, and symptoms settled with {soft_tx}.",
    "We describe {pt} in whom {amb} was the presenting complaint.",
    "{Pt}, who {context}, was seen with {amb}; {test} were requested.",
    "Among {n} {cohort} presenting with {amb}, a specific cause was found in fewer than half.",
]
HEALTH_NEIGHBOURS = {
    "cardiovascular": ["respiratory", "neurological"],
    "respiratory": ["cardiovascular", "digestive"],
    "neurological": ["cardiovascular", "digestive"],
    "digestive": ["respiratory", "neurological"],
}


def health_text(rng: random.Random, label: str, group: str, shared: bool) -> str:
    base = merge(HEALTH_SLOTS, HEALTH_BY_GROUP[group])
    chosen: dict[str, str] = {}
    if shared:
        sets = [terms for labels, ages, terms in HEALTH_AMBIGUOUS if label in labels and group in ages]
        amb = rng.choice(sets)
        return fill(rng, rng.choice(HEALTH_SHARED), {**base, "amb": amb}, chosen)
    _, _, terms = rng.choice([c for c in HEALTH_CONDITIONS[label] if group in c[1]])
    slots = merge(base, HEALTH_SYSTEM[label], terms)
    if "pt" in terms:  # some conditions only occur at particular ages
        slots["pt"] = terms["pt"]
    text = fill(rng, rng.choice(HEALTH), slots, chosen)
    r = rng.random()
    for follow in rng.sample(HEALTH_SECOND, 0 if r < 0.35 else 1 if r < 0.8 else 2):
        text += " " + fill(rng, follow, slots, chosen)
    return text


# --------------------------------------------------------------------------------------------
# Engineering: GitHub-style issue reports (a title plus one or two body sentences), by component
# --------------------------------------------------------------------------------------------

ENG_LABELS = {"bug": 120, "feature": 120, "question": 120}
ENG_GROUPS = ["backend", "frontend", "infra", "docs"]

ENG_SLOTS: Slots = {
    "ver": ["v2.3.1", "v2.4.0", "v3.0.0", "v3.0.2", "v3.1.0-rc1", "v1.9.7", "the latest release",
            "the nightly build", "main", "4.2.0"],
    "oldver": ["v2.2.0", "v2.3.0", "v1.9.5", "v3.0.0", "4.1.3"],
    "num": [str(n) for n in range(412, 2990, 37)],
    "k": ["five", "ten", "twenty", "fifty"],
    "scale": ["hundreds of users", "several projects", "large monorepos", "strict compliance requirements",
              "many environments"],
    "competitor": ["similar open-source tools", "most of the alternatives we evaluated", "several other libraries",
                   "the commercial competitors"],
    "workaround": ["patch it locally after every release", "maintain a fork", "write a wrapper script",
                   "do it by hand", "copy the code into our project"],
    "handle": ["maintainers", "core-team", "release-team", "triage"],
}
ENG_BY_GROUP: dict[str, Slots] = {
    "backend": {
        "obj": ["the /api/v2/orders endpoint", "the auth service", "the job queue worker", "the GraphQL resolver for invoices",
                "the rate limiter", "the webhook dispatcher", "the search service", "the session store",
                "the payments module", "the database migration for the users table", "the export job"],
        "err": ["500 Internal Server Error", "IntegrityError: duplicate key value violates unique constraint",
                "a deadlock detected in PostgreSQL", "KeyError: 'user_id'", "a TimeoutError after 30 seconds",
                "a NullPointerException", "'connection pool exhausted'"],
        "symptom": ["returns stale data", "drops messages under load", "leaks database connections",
                    "double-charges some customers", "ignores the page_size parameter", "hangs forever"],
        "env": ["PostgreSQL 15", "Redis 7", "Python 3.12", "Node 20", "Django 5.0", "Go 1.22", "MySQL 8"],
        "action": ["sending two concurrent PATCH requests", "retrying a failed payment", "importing a large CSV",
                   "calling the endpoint with an empty body", "rotating the API key"],
        "feat": ["cursor-based pagination", "bulk delete via the API", "an idempotency key header",
                 "a configurable retry policy", "a MySQL backend", "signed webhooks", "soft deletes"],
        "capability": ["filter results by creation date", "set a custom timeout per request",
                       "replay failed webhooks", "export audit logs", "run migrations without downtime"],
        "task": ["configure connection pooling", "run the worker with multiple processes", "add a custom auth backend",
                 "paginate through all results", "migrate the database to the new schema"],
        "setting": ["the request timeout", "the maximum upload size", "the cache TTL", "the number of worker threads"],
        "topic": ["transaction isolation", "retries after a timeout", "rate limiting per API key", "background jobs"],
        "optpair": ["`pool_size` and `max_overflow`", "sync and async clients", "`retry` and `backoff`",
                    "Celery and the built-in scheduler"],
        "where": ["orders/service.py line 212", "the serializer for Invoice", "the retry middleware", "db/session.py"],
        "expected": ["the request succeeds", "a 409 Conflict is returned", "the job completes",
                     "only one charge is created"],
    },
    "frontend": {
        "obj": ["the date picker", "the settings modal", "the navigation bar", "the checkout form", "the dark theme",
                "the file upload dialog", "the dashboard chart", "the search autocomplete", "the login page",
                "the table pagination", "the notifications panel"],
        "err": ["TypeError: Cannot read properties of undefined (reading 'map')", "a blank white screen",
                "a hydration mismatch warning", "an infinite re-render loop", "'ResizeObserver loop limit exceeded'",
                "a CORS error in the console"],
        "symptom": ["overlaps the footer on mobile", "flickers when scrolling", "loses the entered text",
                    "renders the wrong time zone", "is not reachable with the keyboard", "freezes the tab"],
        "env": ["Safari 17", "Firefox 121", "Chrome on Android", "iOS 17", "Edge", "a 4K monitor", "React 18",
                "screen readers"],
        "action": ["resizing the window", "switching tabs", "pasting text with emoji", "pressing the back button",
                   "uploading a file larger than 10 MB"],
        "feat": ["a dark mode toggle", "keyboard shortcuts", "drag-and-drop reordering", "a CSV export button",
                 "right-to-left layouts", "a high-contrast theme", "saved filters"],
        "capability": ["collapse the sidebar", "remember the last selected tab", "sort columns by clicking the header",
                       "preview images before upload", "customise the date format"],
        "task": ["override the default theme colours", "lazy-load the chart component", "translate the UI strings",
                 "embed the widget in an iframe", "disable animations"],
        "setting": ["the locale", "the default page size", "the theme", "the chart colours"],
        "topic": ["form validation", "focus management", "state persistence between pages", "responsive breakpoints"],
        "optpair": ["controlled and uncontrolled inputs", "`useStore` and `useContext`", "CSS modules and Tailwind",
                    "the modal and the drawer components"],
        "where": ["DatePicker.tsx", "the useSearch hook", "the layout grid CSS", "the form reducer"],
        "expected": ["the page renders normally", "the value is kept", "focus moves to the dialog",
                     "the chart updates"],
    },
    "infra": {
        "obj": ["the Helm chart", "the Terraform module", "the Docker image", "the CI pipeline", "the GitHub Actions workflow",
                "the Kubernetes deployment", "the nightly backup job", "the staging cluster", "the nginx config",
                "the release script", "the autoscaler"],
        "err": ["CrashLoopBackOff", "exit code 137", "a TLS handshake failure", "ImagePullBackOff",
                "'no space left on device'", "permission denied on /var/run/docker.sock", "a failing readiness probe"],
        "symptom": ["restarts every few minutes", "times out during the deploy step", "uses the wrong image tag",
                    "never scales down", "leaves orphaned volumes", "skips the cache"],
        "env": ["Kubernetes 1.29", "AWS EKS", "GKE", "Docker 25", "ARM64 runners", "Terraform 1.7",
                "Ubuntu 22.04", "self-hosted runners"],
        "action": ["upgrading the chart", "running terraform apply twice", "deploying to a new region",
                   "restoring from a snapshot", "rebuilding the image without cache"],
        "feat": ["an official ARM64 image", "a Helm value for resource limits", "Prometheus metrics",
                 "dependency caching in CI", "Terraform workspaces", "a health check endpoint",
                 "blue-green deployments"],
        "capability": ["pin the base image by digest", "set pod anti-affinity", "run the backup job on demand",
                       "push images to a private registry", "configure log retention"],
        "task": ["run the stack behind a corporate proxy", "deploy with a read-only root filesystem",
                 "rotate the TLS certificates", "scale the workers horizontally", "set up a staging environment"],
        "setting": ["the memory limit", "the log level", "the backup schedule", "the ingress class"],
        "topic": ["zero-downtime upgrades", "secrets management", "multi-region deployments", "resource sizing"],
        "optpair": ["the Helm chart and the raw manifests", "`replicas` and the autoscaler", "EFS and EBS volumes",
                    "the slim and full images"],
        "where": ["the entrypoint script", "values.yaml", "the Dockerfile", "the deploy job"],
        "expected": ["the deploy completes", "the pod becomes ready", "the backup is written", "the image builds"],
    },
    "docs": {
        "obj": ["the installation guide", "the API reference", "the quickstart tutorial", "the README",
                "the configuration page", "the migration guide", "the FAQ", "the changelog",
                "the code examples in the docs", "the docstring for Client.connect", "the contributing guide"],
        "api": ["Client.connect()", "the `batch_size` option", "the `--dry-run` flag", "the events API",
                "`load_config()`", "the plugin hooks"],
        "param": ["`timeout`", "`batch_size`", "`max_retries`", "`log_level`", "`cache_dir`"],
        "oldapi": ["`client.login()`", "the `--legacy` flag", "`Settings.from_env()`", "the v1 endpoint"],
        "docfeat": ["a troubleshooting section", "a page on upgrading from v2", "examples in TypeScript",
                    "an architecture diagram", "a searchable API reference", "a glossary", "a FAQ entry on proxies"],
        "topic": ["authentication", "configuration precedence", "error handling", "deployment options",
                  "plugin development", "versioning policy"],
        "lang": ["Japanese", "Spanish", "German", "Brazilian Portuguese"],
        "val": ["30", "100", "true", "false", "`INFO`", "`None`"],
        "site": ["the docs site", "readthedocs", "the PDF version", "the v3 docs"],
        "err": ["ModuleNotFoundError", "a 404 page", "an ImportError", "'unknown option'"],
        "env": ["the docs site", "the PDF version", "the v3 docs", "the Japanese translation", "readthedocs"],
    },
}

ENG_CODE: dict[str, dict[str, list[str]]] = {  # backend, frontend and infra
    "bug": {
        "title": ["{Obj} crashes with {err} on {env}", "Regression in {ver}: {obj} {symptom}",
                  "{Obj} {symptom} after upgrading to {ver}", "{Err} when {action}",
                  "[Bug] {obj} {symptom}", "{Obj} intermittently fails with {err}",
                  "{Obj} broken on {env} since {ver}", "{Obj} {symptom} when {action}",
                  "Crash in {obj} caused by {action}", "Unexpected error from {obj}: {err}"],
        "body": ["Steps to reproduce: start from a clean install and try {action}; it fails with {err}.",
                 "This worked fine in {oldver} and started failing right after the upgrade.",
                 "The stack trace points to {where}.",
                 "I can reproduce it every time on {env}, and the full logs are attached.",
                 "Expected: {expected}. Actual: {obj} {symptom}.",
                 "It happens in production on {env} but not locally.",
                 "Rolling back to {oldver} fixes it, so this looks like a regression.",
                 "Roughly one in {k} attempts is affected.",
                 "A minimal reproduction repository is linked below."],
    },
    "feature": {
        "title": ["Add {feat}", "Feature request: {feat}", "Support {feat}",
                  "[Feature] allow users to {capability}", "Proposal: {feat}",
                  "It would be nice to have {feat}", "Option to {capability}", "Enhancement: {feat}",
                  "Make it possible to {capability}", "Request: {feat}"],
        "body": ["Currently there is no way to do this, so we have to {workaround}.",
                 "This would make {obj} much easier to adopt for teams with {scale}.",
                 "{Competitor} already offer this.",
                 "I'd be happy to open a pull request if the maintainers agree with the approach.",
                 "Ideally this would be opt-in behind a config flag so that existing users are not affected.",
                 "Our use case: we run {obj} on {env} and {feat} would save us a lot of manual work.",
                 "A first version could be small and extended later.",
                 "Would you accept a PR that adds this behind a setting?"],
    },
    "question": {
        "title": ["How do I {task}?", "What is the recommended way to {task}?", "Is it possible to {task} on {env}?",
                  "Can {obj} be used with {env}?", "Where is {setting} configured?",
                  "[Question] difference between {optpair}", "Clarification on how {obj} handles {topic}",
                  "Best practice for {topic}?", "How does {obj} decide {setting}?", "Help: trying to {task}"],
        "body": ["I read the docs but could not find an answer.", "Is there an example somewhere I could follow?",
                 "I'm new to the project, so apologies if this is obvious.", "Any guidance would be appreciated.",
                 "We are evaluating the project and want to understand {topic} before adopting it.",
                 "Should I be using {optpair} for this, or something else?",
                 "I tried changing {setting}, but I'm not sure that is the intended approach.",
                 "Is this documented anywhere, or should I look at the source?"],
    },
}
ENG_DOCS: dict[str, dict[str, list[str]]] = {
    "bug": {
        "title": ["Broken link in {obj}", "{Obj} has an outdated example for {api}", "Typo in the command in {obj}",
                  "{Obj} documents the wrong default for {param}", "Code sample in {obj} does not run",
                  "{Obj} returns a 404 on {site}", "{Obj} still refers to {oldapi}", "Wrong install command in {obj}"],
        "body": ["The snippet still uses {oldapi}, which was removed in {ver}.",
                 "Following the steps exactly gives {err}.",
                 "The page says the default of {param} is {val}, but the code uses a different value.",
                 "The link to the {topic} page points to a page that no longer exists.",
                 "Copying the example verbatim fails on a fresh install.",
                 "The rendered page on {site} is missing half of the table."],
    },
    "feature": {
        "title": ["Add {docfeat} to {obj}", "Docs: please add {docfeat}", "Request: a guide on {topic}",
                  "Translate {obj} into {lang}", "Document {api} with a complete example",
                  "Add a section on {topic} to {obj}", "Proposal: restructure {obj}"],
        "body": ["It would help newcomers to have {docfeat}.",
                 "A short section on {topic} with a complete example would save a lot of repeated questions.",
                 "Happy to write the first draft if that is welcome.",
                 "Other projects have a page like this and it makes onboarding much easier.",
                 "A copy button on the code blocks would also be nice."],
    },
    "question": {
        "title": ["Where are the docs for {api}?", "Is {obj} up to date for {ver}?", "Docs unclear about {topic}",
                  "How should I read the {param} description in {obj}?", "Which page covers {topic}?",
                  "Are the docs for {api} on {site} current?"],
        "body": ["The docs mention {param} but do not say what values are valid.",
                 "Is there a page explaining {topic} that I missed?",
                 "I could not tell from {obj} whether {api} is still supported.",
                 "Which version of the docs should I follow for {ver}?",
                 "I searched the docs for {topic} and found two pages that disagree."],
    },
}
# Titles and bodies that fit more than one issue type, keyed by the types they are plausible for.
ENG_SHARED_TITLE: list[tuple[set[str], str]] = [
    ({"bug", "question"}, "Is this expected? {obj} behaves differently on {env}"),
    ({"bug", "question"}, "{Obj} does not seem to work with {env}"),
    ({"bug", "question"}, "Unexpected behaviour in {obj}"),
    ({"feature", "question"}, "Is there a way to get {feat}?"),
    ({"feature", "question"}, "Any plans for {feat}?"),
    ({"feature", "question"}, "Does {obj} support {feat}?"),
    ({"bug", "feature"}, "{Obj} does not handle this case"),
    ({"bug", "feature"}, "{Obj} should behave differently on {env}"),
    ({"bug", "feature", "question"}, "Problem with {obj} on {env}"),
    ({"bug", "feature", "question"}, "{Obj} in {ver}"),
    ({"bug", "feature", "question"}, "Follow-up to #{num}"),
]
ENG_SHARED_BODY: list[tuple[set[str], str]] = [
    ({"bug", "question"}, "Not sure whether I am doing something wrong or this is a real issue."),
    ({"bug", "question"}, "It behaves differently from what I expected after reading {obj}."),
    ({"feature", "question"}, "I could not find anything about this in the docs or the roadmap."),
    ({"feature", "question"}, "If this already exists, a pointer would be great; if not, consider this a request."),
    ({"bug", "feature"}, "Right now {obj} just ignores it, which surprised our team."),
    ({"bug", "feature"}, "It would be good if this worked the same way everywhere."),
    ({"bug", "feature", "question"}, "More details below."),
    ({"bug", "feature", "question"}, "This came up while we were upgrading to {ver}."),
]
ENG_EXTRA = [  # context that can follow any issue
    "Version: {ver}.", "Related to #{num}.", "cc @{handle}", "Thanks for maintaining this project!",
    "Environment: {env}, {ver}.", "Possibly related to #{num}.",
]
ENG_NEIGHBOURS = {"bug": ["question", "feature"], "feature": ["question"], "question": ["bug", "feature"]}


def eng_slots(group: str) -> Slots:
    slots = merge(ENG_SLOTS, ENG_BY_GROUP[group])
    if group == "docs":  # docs issues have no feature-slot of their own; use the doc requests
        slots["feat"] = slots["docfeat"]
    return slots


def eng_text(rng: random.Random, label: str, group: str, shared: bool) -> str:
    slots = eng_slots(group)
    chosen: dict[str, str] = {}
    if shared:
        title = fill(rng, rng.choice([t for labels, t in ENG_SHARED_TITLE if label in labels]), slots, chosen)
        bodies = [fill(rng, rng.choice([t for labels, t in ENG_SHARED_BODY if label in labels]), slots, chosen)]
    else:
        parts = (ENG_DOCS if group == "docs" else ENG_CODE)[label]
        title = fill(rng, rng.choice(parts["title"]), slots, chosen)
        n = 1 if rng.random() < 0.55 else 2
        bodies = [fill(rng, t, slots, chosen) for t in rng.sample(parts["body"], n)]
    if len(bodies) == 1 and rng.random() < 0.4:
        bodies.append(fill(rng, rng.choice(ENG_EXTRA), slots, chosen))
    title = title.rstrip(".")
    title += "" if title.endswith("?") else "."
    return " ".join([title, *bodies])


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------

DATASETS = {  # name: (labels with totals, groups, hard group, text function, neighbours, seed)
    "legal": (LEGAL_LABELS, LEGAL_GROUPS, "in", legal_text, LEGAL_NEIGHBOURS, 101),
    "healthcare": (HEALTH_LABELS, HEALTH_GROUPS, "paediatric", health_text, HEALTH_NEIGHBOURS, 202),
    "engineering": (ENG_LABELS, ENG_GROUPS, "docs", eng_text, ENG_NEIGHBOURS, 303),
}
# Share of a group's rows written with phrasing shared between labels, and share whose label is
# flipped to a neighbouring one: (other groups, hard group). Overall about 15% and 4% per file.
SHARED_RATE = {"legal": (0.09, 0.33), "healthcare": (0.09, 0.27), "engineering": (0.09, 0.33)}
NOISE_RATE = {"legal": (0.025, 0.10), "healthcare": (0.025, 0.08), "engineering": (0.025, 0.10)}


def build(name: str) -> list[dict[str, str]]:
    labels, groups, hard, text_for, neighbours, seed = DATASETS[name]
    rng = random.Random(seed)
    plan: list[tuple[str, str]] = []
    for i, (label, total) in enumerate(labels.items()):
        for group, count in zip(groups, quotas(total, len(groups), offset=2 * i)):
            plan.extend([(label, group)] * count)

    rows: list[dict[str, str]] = []
    seen: list[frozenset[str]] = []
    texts: set[str] = set()
    for group in groups:
        cells = [label for label, g in plan if g == group]
        k = int(group == hard)
        shared = set(rng.sample(range(len(cells)), round(SHARED_RATE[name][k] * len(cells))))
        flipped = set(rng.sample(range(len(cells)), round(NOISE_RATE[name][k] * len(cells))))
        for j, label in enumerate(cells):
            for _ in range(500):
                text = text_for(rng, label, group, j in shared)
                bag = words(text)
                if text not in texts and all(len(bag & b) / len(bag | b) < NEAR_DUPLICATE for b in seen):
                    break
            else:
                raise RuntimeError(f"{name}: could not draw a new text for {label}/{group}")
            texts.add(text)
            seen.append(bag)
            final = rng.choice(neighbours[label]) if j in flipped else label
            rows.append({"text": text, "label": final, "group": group})
    rng.shuffle(rows)
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:
        rows = build(name)
        with (OUT / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} rows -> {OUT / (name + '.jsonl')}")


if __name__ == "__main__":
    main()
