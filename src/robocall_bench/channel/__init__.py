"""Simulated telephone channel shared by both classes (see :mod:`robocall_bench.channel.chain`)."""

from __future__ import annotations

from .chain import ChannelResult, TelephoneChannel
from .codecs import CODECS, list_codecs

__all__ = ["CODECS", "ChannelResult", "TelephoneChannel", "list_codecs"]
