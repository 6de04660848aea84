"""Render a flow `Reply` as TwiML."""

from __future__ import annotations

import re
from collections.abc import Callable

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.flow import Ask, DialOut, RecordMessage, Reply
from ivr.prompts import LANGUAGE_CODES

UrlFor = Callable[..., str]
# Characters XML 1.0 cannot carry, even escaped: a stored name holding one must not
# make the provider reject the whole answer (the import refuses them; old data may not).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def speakable(text: str) -> str:
    """Return `text` without characters that XML 1.0 cannot carry (they are not spoken anyway)."""
    return NOT_XML.sub(" ", text)


def render(reply: Reply, url_for: UrlFor, voices: dict[str, str]) -> str:
    """Return the TwiML document for `reply`; `url_for(step, **params)` builds action URLs."""
    language = LANGUAGE_CODES.get(reply.language, "da-DK")
    voice = voices.get(reply.language, voices["da"])
    response = VoiceResponse()
    then = reply.then
    if isinstance(then, Ask):
        params = {"attempt": then.attempt_id} if then.attempt_id is not None else {}
        action = url_for(then.step, **params)
        gather = Gather(
            input="dtmf",
            action=action,
            method="POST",
            timeout=then.timeout,
            finish_on_key=then.finish_on_key,
            num_digits=then.digits,
        )
        for text in reply.said:
            gather.say(speakable(text), voice=voice, language=language)
        response.append(gather)
        # No keys at all: the same step hears the silence and counts it as a try.
        response.redirect(action, method="POST")
        return str(response)
    for text in reply.said:
        response.say(speakable(text), voice=voice, language=language)
    if isinstance(then, RecordMessage):
        # Said before the beep; the recording (and its later callback) go to our own signed URLs.
        response.record(
            action=url_for(then.step),
            method="POST",
            max_length=then.max_seconds,
            play_beep=True,
            finish_on_key=then.finish_on_key,
            timeout=5,
            recording_status_callback=url_for("recording"),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        # Nothing recorded (silence): the provider goes on here, without asking the action.
        for text in then.silence:
            response.say(speakable(text), voice=voice, language=language)
        response.hangup()
        return str(response)
    if isinstance(then, DialOut):
        dial = Dial(
            action=url_for("dial_result", attempt=then.attempt_id),
            method="POST",
            timeout=then.ring_seconds,
            caller_id=then.caller_id,
        )
        dial.number(then.number, url=url_for("whisper", attempt=then.attempt_id), method="POST")
        response.append(dial)
    elif not reply.bridge:
        response.hangup()
    return str(response)
