"""Write hpsearch's three small demo datasets (synthetic, written for this project).

    python scripts/make_demo_data.py

rewrites src/hpsearch/data/demo/{legal,healthcare,engineering}.jsonl byte-identically (fixed seed).
Each label has its own phrasing; some sentences share phrasing across labels, a few labels are
flipped to a neighbouring label (annotation noise), and one group per file gets more of both,
so that classifiers score lower on it and the fairness gap between groups is real.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "hpsearch" / "data" / "demo"
N = 360


def fill(rng: random.Random, template: str, slots: dict[str, list[str]]) -> str:
    out = template
    for key, values in slots.items():
        while "{" + key + "}" in out:
            out = out.replace("{" + key + "}", rng.choice(values), 1)
    return out[0].upper() + out[1:]


LEGAL_SLOTS = {
    "co": ["the Company", "the Provider", "the Service operator", "the Licensor", "the Platform"],
    "svc": ["the Service", "the Platform", "the Software", "the App", "our website", "the Subscription"],
    "user": ["the User", "the Customer", "the Subscriber", "the Member", "the Licensee"],
    "time": ["at any time", "at its sole discretion", "without prior notice", "for any reason or no reason",
             "immediately", "whenever it deems appropriate"],
    "amount": ["the fees paid in the last twelve months", "one hundred dollars", "the amount you paid",
               "fifty euros", "the subscription price"],
    "damage": ["indirect", "incidental", "consequential", "special", "punitive", "lost-profit"],
    "court": ["the courts of {place}", "a court located in {place}", "the competent courts of {place}"],
    "place": ["Delaware", "London", "Dublin", "Bangalore", "California", "Luxembourg", "Mumbai", "Amsterdam"],
    "thing": ["your data", "payment details", "the account settings", "the content you upload",
              "support requests", "the billing address"],
}

LEGAL = {
    "fair": [
        "{user} may cancel the subscription from the account page and receive a pro-rata refund.",
        "{co} will notify {user} by email thirty days before any price increase takes effect.",
        "{user} keeps ownership of {thing} submitted to {svc}.",
        "Support for {svc} is available on working days by email and chat.",
        "{co} stores {thing} in encrypted form and deletes it on request.",
        "{user} can export {thing} in a common format before closing the account.",
        "These terms are written in plain language and a summary is provided at the top.",
        "{co} explains the reasons for any suspension and offers a way to appeal.",
        "Refunds for {svc} are processed within fourteen days of a valid request.",
        "{user} may contact {co} with questions about {thing} through the help centre.",
    ],
    "limitation_of_liability": [
        "{co} shall not be liable for any {damage} damages arising from the use of {svc}.",
        "In no event will the total liability of {co} exceed {amount}.",
        "{svc} is provided as is and {co} disclaims all liability for {damage} or {damage} loss.",
        "{co} is not responsible for any loss of {thing} however caused.",
        "To the maximum extent permitted by law, {co} excludes liability for {damage} damages.",
        "{co} accepts no responsibility for interruptions of {svc} or errors in {thing}.",
    ],
    "unilateral_termination": [
        "{co} may suspend or terminate the account of {user} {time}.",
        "{co} reserves the right to close any account {time} without giving reasons.",
        "Access to {svc} may be withdrawn by {co} {time}.",
        "{co} can end this agreement {time} and delete {thing}.",
        "{co} may discontinue {svc} for {user} {time} with no obligation to refund.",
    ],
    "unilateral_change": [
        "{co} may modify these terms {time}; continued use of {svc} means acceptance.",
        "{co} reserves the right to change the features and prices of {svc} {time}.",
        "These terms may be updated by {co} {time} and the new version applies immediately.",
        "{co} can amend the conditions for {thing} {time} without asking {user}.",
        "Any part of {svc} may be altered or replaced by {co} {time}.",
    ],
    "jurisdiction": [
        "Any dispute arising from these terms shall be brought exclusively before {court}.",
        "{user} agrees to submit to the exclusive jurisdiction of {court}.",
        "All claims relating to {svc} must be filed in {court}.",
        "The parties consent to the venue of {court} for any proceedings.",
        "Disputes concerning {thing} will be heard only by {court}.",
    ],
}
LEGAL_SHARED = [  # phrasing that could belong to several clause types
    "{co} may take any action regarding {thing} {time}.",
    "{user} accepts that {co} decides on matters concerning {svc}.",
    "{co} reserves all rights regarding {svc} in {place}.",
    "Use of {svc} is subject to the decisions of {co}.",
]
LEGAL_NEIGHBOURS = {
    "fair": "unilateral_change", "limitation_of_liability": "fair",
    "unilateral_termination": "unilateral_change", "unilateral_change": "unilateral_termination",
    "jurisdiction": "fair",
}

HEALTH_SLOTS = {
    "pt": ["the patient", "a {age} patient", "the {age} subject", "this {age} case"],
    "dur": ["two days", "a week", "three weeks", "several months", "48 hours", "ten days"],
    "test": ["blood tests", "imaging", "the examination", "laboratory results", "the work-up"],
    "drug": ["the prescribed medication", "first-line therapy", "the standard regimen", "supportive care"],
}
HEALTH_AGES = {"adult": ["adult", "middle-aged", "30-year-old", "45-year-old"],
               "older_adult": ["elderly", "78-year-old", "retired", "84-year-old"],
               "paediatric": ["paediatric", "6-year-old", "adolescent", "school-age"]}
HEALTH = {
    "cardiovascular": [
        "{pt} presented with chest pain radiating to the left arm for {dur}.",
        "{test} showed an irregular heart rhythm consistent with atrial fibrillation.",
        "{pt} reported palpitations and shortness of breath on exertion; blood pressure was elevated.",
        "Echocardiography in {pt} revealed reduced ejection fraction and ventricular dilation.",
        "{pt} was admitted with suspected myocardial infarction after {dur} of angina.",
        "Hypertension in {pt} remained uncontrolled despite {drug}.",
    ],
    "respiratory": [
        "{pt} had a productive cough and fever for {dur}; crackles were heard at the lung bases.",
        "{test} confirmed pneumonia in the right lower lobe of {pt}.",
        "{pt} with asthma reported wheezing at night that improved with an inhaler.",
        "Spirometry in {pt} showed airflow obstruction consistent with chronic bronchitis.",
        "{pt} required oxygen after {dur} of worsening breathlessness.",
        "Chest imaging of {pt} showed a pleural effusion after {dur} of cough.",
    ],
    "neurological": [
        "{pt} experienced recurrent headaches with visual aura over {dur}.",
        "{pt} presented with sudden weakness of the right arm and slurred speech.",
        "{test} showed epileptiform discharges after {pt} had two seizures.",
        "{pt} reported numbness and tingling in both feet progressing over {dur}.",
        "Memory loss and confusion in {pt} worsened over {dur}.",
        "{pt} had a tremor at rest and slowed movement on examination.",
    ],
    "digestive": [
        "{pt} reported abdominal pain after meals and nausea for {dur}.",
        "{test} revealed inflammation of the colon in {pt} with chronic diarrhoea.",
        "{pt} presented with heartburn and difficulty swallowing for {dur}.",
        "Liver enzymes of {pt} were raised and the abdomen was tender on the right side.",
        "{pt} had rectal bleeding and weight loss over {dur}.",
        "Gallstones were found in {pt} after {dur} of upper abdominal pain.",
    ],
}
HEALTH_SHARED = [
    "{pt} felt tired and unwell for {dur} and {test} were requested.",
    "{pt} was treated with {drug} and improved over {dur}.",
    "{pt} reported pain and fatigue; {test} were inconclusive.",
    "After {dur}, {pt} was referred for further {test}.",
]
HEALTH_NEIGHBOURS = {"cardiovascular": "respiratory", "respiratory": "cardiovascular",
                     "neurological": "cardiovascular", "digestive": "respiratory"}

ENG_SLOTS = {
    "comp": ["the login page", "the REST API", "the build pipeline", "the settings dialog", "the search index",
             "the export job", "the CLI", "the dashboard", "the upload service", "the README"],
    "ver": ["v2.3.1", "v3.0.0", "the latest release", "main", "v1.9", "the nightly build"],
    "os": ["Ubuntu 22.04", "Windows 11", "macOS", "Docker", "Kubernetes", "Firefox", "Chrome"],
    "err": ["a NullPointerException", "a 500 error", "a segmentation fault", "a timeout", "an empty response",
            "a stack trace"],
    "feat": ["dark mode", "CSV export", "single sign-on", "keyboard shortcuts", "pagination",
             "a retry option", "bulk editing", "webhooks"],
}
ENG = {
    "bug": [
        "{comp} crashes with {err} on {os}. Steps to reproduce are attached; it worked before {ver}.",
        "Regression in {ver}: {comp} returns {err} when the input is empty.",
        "{comp} fails after upgrading to {ver}. Expected a success message, got {err}.",
        "Broken: {comp} hangs on {os} and eventually throws {err}.",
        "{comp} shows wrong results since {ver}; the log contains {err}.",
        "Memory leak in {comp} on {os} leads to {err} after a few hours.",
    ],
    "feature": [
        "Feature request: add {feat} to {comp}. It would save time for large teams.",
        "It would be great if {comp} supported {feat}, similar to other tools.",
        "Proposal: {comp} should offer {feat} as an opt-in setting in {ver}.",
        "Please consider adding {feat}; currently {comp} has no way to do this.",
        "Enhancement: allow {feat} in {comp} so that users on {os} can automate it.",
        "Suggestion to extend {comp} with {feat} and document the new option.",
    ],
    "question": [
        "How do I configure {comp} to use {feat} on {os}?",
        "Is it possible to run {comp} from {ver} on {os}? The docs are unclear.",
        "What is the recommended way to migrate {comp} to {ver}?",
        "Question: why does {comp} need admin rights on {os}?",
        "Can someone explain how {comp} handles {feat}? I could not find an example.",
        "Where can I find the settings for {comp} in {ver}?",
    ],
}
ENG_SHARED = [
    "{comp} behaves unexpectedly with {feat} on {os}.",
    "Not sure if this is intended: {comp} in {ver} ignores {feat}.",
    "{comp} and {feat}: what should happen on {os}?",
    "Trouble with {comp} after {ver}.",
]
ENG_NEIGHBOURS = {"bug": "question", "feature": "question", "question": "bug"}


def build(rng, templates, shared, neighbours, slots, groups, hard, weights, n, slot_for_group=None):
    labels = list(templates)
    rows, seen = [], set()
    while len(rows) < n:
        group = groups[len(rows) % len(groups)]
        label = rng.choices(labels, weights=weights)[0]
        is_hard = group == hard
        group_slots = dict(slots)
        if slot_for_group:
            group_slots.update(slot_for_group(group))
        if rng.random() < (0.35 if is_hard else 0.10):
            template = rng.choice(shared)
        else:
            template = rng.choice(templates[label])
        text = fill(rng, template, group_slots)
        if rng.random() < 0.5:  # a second sentence from the same label adds variety
            text += " " + fill(rng, rng.choice(templates[label]), group_slots)
        if text in seen:
            continue
        seen.add(text)
        if rng.random() < (0.10 if is_hard else 0.03):
            label = neighbours[label]
        rows.append({"text": text, "label": label, "group": group})
    rng.shuffle(rows)
    return rows


def legal_place(group: str) -> dict[str, list[str]]:
    places = {"us": ["Delaware", "California", "New York"], "uk": ["London", "Manchester", "Edinburgh"],
              "eu": ["Dublin", "Luxembourg", "Amsterdam"], "in": ["Mumbai", "Bangalore", "Delhi"]}
    return {"place": places[group]}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sets = {
        "legal": build(random.Random(1), LEGAL, LEGAL_SHARED, LEGAL_NEIGHBOURS, LEGAL_SLOTS,
                       ["us", "uk", "eu", "in"], "in", [4, 1.5, 1.5, 1.5, 1.5], N, legal_place),
        "healthcare": build(random.Random(2), HEALTH, HEALTH_SHARED, HEALTH_NEIGHBOURS, HEALTH_SLOTS,
                            ["adult", "older_adult", "paediatric"], "paediatric", [1, 1, 1, 1], N,
                            lambda g: {"age": HEALTH_AGES[g]}),
        "engineering": build(random.Random(3), ENG, ENG_SHARED, ENG_NEIGHBOURS, ENG_SLOTS,
                             ["backend", "frontend", "infra", "docs"], "docs", [1, 1, 1], N),
    }
    for name, rows in sets.items():
        with (OUT / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
