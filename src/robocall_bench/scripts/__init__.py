"""Robocall scripts: real FTC transcripts, a telemarketing template generator, and script families."""
