"""The script record shared by the FTC loader, the template generator and the corpus planner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    """A text that a robocall (or a TTS rendition of a human text) speaks.

    text_id: stable id ("ftc-00042", "tpl-en-loan-0007", "aishell-BAC009S0150W0001");
    family: scripts in one family are near-duplicates or come from one template and must
    stay in one split; origin: "ftc", "template" or "human"; domain: telemarketing domain
    (e.g. "loan") or "" when unknown.
    """

    text_id: str
    text: str
    language: str
    family: str
    origin: str
    domain: str = ""
