"""What the line says, in Danish (default) and English. Wording is configuration-free text here.

`{line}` and `{hours}` are the agreement's: its name for the line and its window (the
caller's agreement in the greeting, the deciding department's once the patient is known).
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "en": "January February March April May June July August September October November December",
}

LANGUAGE_CODES = {"da": "da-DK", "en": "en-GB"}

PROMPTS: dict[str, dict[str, str]] = {
    "da": {
        "welcome_known": "Velkommen til {line}, {organisation}.",
        "ask_code": (
            "Velkommen til {line} for sundhedsfaglige. Indtast jeres enhedskode, og afslut med firkant."
        ),
        "code_retry": "Enhedskoden blev ikke genkendt. Indtast enhedskoden igen, og afslut med firkant.",
        "not_professional": (
            "Linjen er kun for sundhedsfaglige. Borgere bedes ringe til egen læge eller 1813. "
            "Du stilles nu videre til hospitalets omstilling."
        ),
        "ask_cpr": (
            "Indtast patientens CPR-nummer, 10 cifre. Har patienten ikke et CPR-nummer, så tryk 0 og firkant."
        ),
        "cpr_retry": "CPR-nummeret er ikke gyldigt. Indtast patientens 10 cifre igen.",
        "cpr_failed": "CPR-nummeret kunne ikke godkendes. Du stilles nu videre til hospitalets omstilling.",
        "born": "Patienten er født {born}.",
        "active": "Afdelingen, der har behandlingsansvaret for patienten, bliver ringet op.",
        "none_gp": (
            "Der er intet aktivt {hours}-timers behandlingsansvar for patienten. "
            "Opkaldet går i stedet til patientens egen læge."
        ),
        "none_after_hours": (
            "Der er intet aktivt {hours}-timers behandlingsansvar for patienten. "
            "Opkaldet går i stedet til {after_hours}."
        ),
        "after_hours": "vagtlinjen for sundhedsfaglige",
        "switchboard": "hospitalets omstilling",
        "confirm": "Tryk 1 for at blive stillet om. Tryk 2 for at indtaste et andet CPR-nummer.",
        "confirm_retry": "Det blev ikke forstået.",
        "confirm_failed": "Du stilles nu videre til hospitalets omstilling.",
        "no_cpr": "Patienten har ikke et CPR-nummer. Du stilles nu videre til hospitalets omstilling.",
        "lookup_limit": (
            "Grænsen for opslag af patienter på linjen er nået for jer i denne time. "
            "Du stilles nu videre til hospitalets omstilling."
        ),
        "too_many_patients": (
            "Der kan højst slås tre patienter op i ét opkald. "
            "Du stilles nu videre til hospitalets omstilling."
        ),
        "connecting": "Du stilles om. Vent venligst.",
        "next_target": "Vi prøver næste nummer. Vent venligst.",
        "nobody": (
            "Det lykkedes ikke at få fat i nogen. Afdelingen ringer dig op hurtigst muligt. "
            "Er patientens liv i fare, så ring 112. Farvel."
        ),
        "nobody_no_department": (
            "Det lykkedes ikke at få fat i nogen. Du bliver ringet op hurtigst muligt. "
            "Er patientens liv i fare, så ring 112. Farvel."
        ),
        "nobody_no_number": (
            "Det lykkedes ikke at få fat i nogen, og dit nummer er skjult. "
            "Ring venligst til hospitalets omstilling. Er patientens liv i fare, så ring 112. Farvel."
        ),
        # Nobody accepted, and a message may be left (any call but a test call).
        "nobody_message": (
            "Det lykkedes ikke at få fat i nogen. Afdelingen ringer dig op hurtigst muligt. "
            "Er patientens liv i fare, så ring 112."
        ),
        "nobody_no_department_message": (
            "Det lykkedes ikke at få fat i nogen. Du bliver ringet op hurtigst muligt. "
            "Er patientens liv i fare, så ring 112."
        ),
        "nobody_no_number_message": (
            "Det lykkedes ikke at få fat i nogen, og dit nummer er skjult, så vi kan ikke ringe dig op. "
            "Sig dit nummer i beskeden, eller ring til hospitalets omstilling. "
            "Er patientens liv i fare, så ring 112."
        ),
        "message_offer": (
            "Du kan indtale en kort besked efter tonen, højst ét minut. Beskeden bliver optaget og "
            "afspillet kun for afdelingens personale. Tryk firkant eller læg på, når du er færdig."
        ),
        "message_offer_hospital": (
            "Du kan indtale en kort besked efter tonen, højst ét minut. Beskeden bliver optaget og "
            "afspillet kun for hospitalets personale. Tryk firkant eller læg på, når du er færdig."
        ),
        "message_thanks": "Tak. Farvel.",
        "message_none": "Der blev ikke optaget nogen besked. Farvel.",
        "technical": "Der opstod en teknisk fejl. Du stilles nu videre til hospitalets omstilling.",
        "goodbye": "Tak for opkaldet. Farvel.",
    },
    "en": {
        "welcome_known": "Welcome to {line}, {organisation}.",
        "ask_code": ("Welcome to {line} for health professionals. Enter your unit code, then press hash."),
        "code_retry": "The unit code was not recognised. Enter the unit code again, then press hash.",
        "not_professional": (
            "This line is for health professionals only. Citizens, please call your own doctor "
            "or 1813. You are now being transferred to the hospital switchboard."
        ),
        "ask_cpr": (
            "Enter the patient's CPR number, 10 digits. If the patient has no CPR number, press 0, then hash."
        ),
        "cpr_retry": "That CPR number is not valid. Enter the patient's 10 digits again.",
        "cpr_failed": (
            "The CPR number could not be accepted. You are now being transferred to the hospital switchboard."
        ),
        "born": "The patient was born on {born}.",
        "active": "The department responsible for the patient will be called.",
        "none_gp": (
            "There is no active {hours}-hour treatment responsibility for this patient. "
            "The call will go to the patient's own doctor instead."
        ),
        "none_after_hours": (
            "There is no active {hours}-hour treatment responsibility for this patient. "
            "The call will go to {after_hours} instead."
        ),
        "after_hours": "the after-hours line for health professionals",
        "switchboard": "the hospital switchboard",
        "confirm": "Press 1 to be connected. Press 2 to enter another CPR number.",
        "confirm_retry": "That was not understood.",
        "confirm_failed": "You are now being transferred to the hospital switchboard.",
        "no_cpr": (
            "The patient has no CPR number. You are now being transferred to the hospital switchboard."
        ),
        "lookup_limit": (
            "You have reached the limit of patient look-ups on the line for this hour. "
            "You are now being transferred to the hospital switchboard."
        ),
        "too_many_patients": (
            "At most three patients can be looked up in one call. "
            "You are now being transferred to the hospital switchboard."
        ),
        "connecting": "Connecting you now. Please wait.",
        "next_target": "Trying the next number. Please wait.",
        "nobody": (
            "Nobody could be reached. The department will call you back. "
            "If the patient's life is in danger, call 112. Goodbye."
        ),
        "nobody_no_department": (
            "Nobody could be reached. You will be called back. "
            "If the patient's life is in danger, call 112. Goodbye."
        ),
        "nobody_no_number": (
            "Nobody could be reached, and your number is withheld. "
            "Please call the hospital switchboard. If the patient's life is in danger, call 112. Goodbye."
        ),
        "technical": (
            "A technical error occurred. You are now being transferred to the hospital switchboard."
        ),
        "nobody_message": (
            "Nobody could be reached. The department will call you back. "
            "If the patient's life is in danger, call 112."
        ),
        "nobody_no_department_message": (
            "Nobody could be reached. You will be called back. If the patient's life is in danger, call 112."
        ),
        "nobody_no_number_message": (
            "Nobody could be reached, and your number is withheld, so we cannot call you back. "
            "Say your number in the message, or call the hospital switchboard. "
            "If the patient's life is in danger, call 112."
        ),
        "message_offer": (
            "You may leave a short message after the tone, at most one minute. It is recorded and "
            "played only to the department's staff. Press hash or hang up when you are done."
        ),
        "message_offer_hospital": (
            "You may leave a short message after the tone, at most one minute. It is recorded and "
            "played only to the hospital's staff. Press hash or hang up when you are done."
        ),
        "message_thanks": "Thank you. Goodbye.",
        "message_none": "No message was recorded. Goodbye.",
        "goodbye": "Thank you for calling. Goodbye.",
    },
}

# The callee always hears Danish: the whisper goes to hospital staff. Before the 1 it says
# nothing about the call (a voicemail or a wrong number on the rota learns nothing).
WHISPER = {
    # {line}: the department's agreement's name of the line, e.g. "96-timers-linjen" in Zealand.
    "accept": "Et opkald på {line}. Tryk 1 for at tage imod opkaldet.",
    "known": "{organisation} ringer om en patient fra {department}, født {born}. I forbindes nu.",
    "unknown_patient": "{organisation} ringer. Patienten er ikke identificeret. I forbindes nu.",
    # Staffed lines (switchboard, GP, after-hours, fallback) may answer with a menu that
    # can never press 1: they hear this and are put through.
    "staffed": "Et opkald fra {line} fra {organisation}. Opkaldet stilles igennem nu.",
    # Told to the fallback line when the call comes because of a misuse limit.
    "refusal_lookup_limit": "Opkalderen har nået grænsen for opslag af patienter i denne time.",
    "refusal_locked_out": "Nummeret er spærret efter for mange forkerte enhedskoder.",
    "unknown_caller": "en opkalder, der ikke er identificeret",
    "no_department": "ingen afdeling med behandlingsansvar",
}


def say(language: str, key: str, **values: str) -> str:
    """Return prompt `key` in `language` (Danish when the language is unknown)."""
    table = PROMPTS.get(language, PROMPTS["da"])
    return table[key].format(**values)


def spoken_date(day: date, language: str, *, with_year: bool = True) -> str:
    """Return a date the way it is read aloud: '1. januar 1940', '1 January 1940'."""
    month = MONTHS.get(language, MONTHS["da"]).split()[day.month - 1]
    if language == "en":
        return f"{day.day} {month} {day.year}" if with_year else f"{day.day} {month}"
    return f"{day.day}. {month} {day.year}" if with_year else f"{day.day}. {month}"


_WINDOW_NAMED = re.compile(r"([0-9]+)-timers-linjen")


def line_in(language: str, name: str) -> str:
    """The line's name as the prompts in `language` say it.

    Danish says the agreement's own name ("96-timers-linjen"); English says a line named
    by its window as "the 96-hour line", and any other name as it is.
    """
    if language == "en":
        named = _WINDOW_NAMED.fullmatch(name)
        if named:
            return f"the {named.group(1)}-hour line"
    return name
